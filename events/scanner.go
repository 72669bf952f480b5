package events

import (
	"bufio"
	"io"
	"strings"
)

// Message is one message read from an SSE stream. A comment line (a
// keep-alive) is a Message with Comment set and nothing else.
type Message struct {
	ID, Event, Data string
	Comment         bool
}

// Scanner reads an SSE stream message by message (the bench and the tests
// read streams with it, as a desk does).
type Scanner struct {
	r *bufio.Reader
}

// NewScanner reads messages from r.
func NewScanner(r io.Reader) *Scanner { return &Scanner{r: bufio.NewReader(r)} }

// Next returns the next message or comment; io.EOF when the stream ends.
func (s *Scanner) Next() (Message, error) {
	var m Message
	var data []string
	started := false
	for {
		line, err := s.r.ReadString('\n')
		if err != nil {
			if err == io.EOF && started {
				return m, io.ErrUnexpectedEOF
			}
			return m, err
		}
		line = strings.TrimRight(line, "\r\n")
		if line == "" {
			if !started {
				continue
			}
			m.Data = strings.Join(data, "\n")
			return m, nil
		}
		if strings.HasPrefix(line, ":") {
			if !started {
				return Message{Comment: true}, nil
			}
			continue
		}
		started = true
		field, value, _ := strings.Cut(line, ":")
		value = strings.TrimPrefix(value, " ")
		switch field {
		case "id":
			m.ID = value
		case "event":
			m.Event = value
		case "data":
			data = append(data, value)
		}
	}
}
