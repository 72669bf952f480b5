// Package events carries what desks and wallboards are told, from the
// PostgreSQL table that triggers fill (schema migration 00015) to the
// Server-Sent Event streams of every API process (docs/events.md).
//
// A Hub per API process listens on the channel casehub_events and reads new
// rows in commit order: rows are ordered by (txid, id), and only rows whose
// transaction is older than every transaction still running are read, so a
// row read is final and any row committed later sorts after it. A Cursor is
// such a position; a stream that resumes from one misses nothing.
package events

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Cursor is a position in the stream of events: the writing transaction and
// the row. The zero Cursor is before every event.
type Cursor struct {
	Tx uint64
	ID int64
}

// String is the cursor as SSE ids carry it.
func (c Cursor) String() string {
	return strconv.FormatUint(c.Tx, 10) + "-" + strconv.FormatInt(c.ID, 10)
}

// After tells whether c comes after o.
func (c Cursor) After(o Cursor) bool {
	return c.Tx > o.Tx || (c.Tx == o.Tx && c.ID > o.ID)
}

// ErrBadCursor is a cursor that is not "<tx>-<id>".
var ErrBadCursor = errors.New("not an event id of this stream")

// ParseCursor reads a cursor from an SSE id.
func ParseCursor(s string) (Cursor, error) {
	tx, id, ok := strings.Cut(strings.TrimSpace(s), "-")
	if !ok {
		return Cursor{}, ErrBadCursor
	}
	t, err := strconv.ParseUint(tx, 10, 64)
	if err != nil {
		return Cursor{}, ErrBadCursor
	}
	i, err := strconv.ParseInt(id, 10, 64)
	if err != nil || i < 0 {
		return Cursor{}, ErrBadCursor
	}
	return Cursor{Tx: t, ID: i}, nil
}

// Event is one row of the table.
type Event struct {
	Cursor Cursor
	// AgentID is the agent whose desk shows it; empty for the wall only.
	AgentID string
	// Wall events go to supervisors' streams.
	Wall bool
	Kind string
	Data json.RawMessage
	At   time.Time
}

// Audience is who a stream is for: one agent, or the wall.
type Audience struct {
	Agent string
	Wall  bool
}

// ForAgent is the audience of an agent's desk.
func ForAgent(id string) Audience { return Audience{Agent: id} }

// ForWall is the audience of supervisors' walls.
func ForWall() Audience { return Audience{Wall: true} }

// Sees tells whether the audience is shown e.
func (a Audience) Sees(e Event) bool {
	if a.Wall {
		return e.Wall
	}
	return e.AgentID != "" && e.AgentID == a.Agent
}

// Encode is one SSE message.
func Encode(id, kind string, data []byte) []byte {
	b := make([]byte, 0, len(data)+len(kind)+len(id)+24)
	b = append(b, "id: "...)
	b = append(b, id...)
	b = append(b, "\nevent: "...)
	b = append(b, kind...)
	b = append(b, "\ndata: "...)
	b = append(b, data...)
	return append(b, "\n\n"...)
}

// EncodeEvent is e as an SSE message, its data with "at": when the change
// was made (PostgreSQL's clock, as the row was written).
func EncodeEvent(e Event) []byte { return Encode(e.Cursor.String(), e.Kind, withAt(e.Data, e.At)) }

// withAt puts "at" first in a JSON object.
func withAt(data []byte, at time.Time) []byte {
	stamp := at.UTC().AppendFormat([]byte(`{"at":"`), time.RFC3339Nano)
	stamp = append(stamp, '"')
	rest := bytes.TrimSpace(data)
	if len(rest) < 2 || rest[0] != '{' {
		return data
	}
	if inner := bytes.TrimSpace(rest[1:]); len(inner) > 0 && inner[0] != '}' {
		stamp = append(stamp, ',')
	}
	return append(stamp, rest[1:]...)
}

func wrap(what string, err error) error { return fmt.Errorf("%s: %w", what, err) }
