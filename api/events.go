package api

import (
	"encoding/json"
	"errors"
	"net/http"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/casehub/casehub/events"
	"github.com/casehub/casehub/store"
)

// defaultKeepAlive is how often an idle stream sends a comment line.
const defaultKeepAlive = 15 * time.Second

// agentEvents streams what one agent's desk must see (docs/events.md).
func (s *Server) agentEvents(c echo.Context) error {
	id := c.Param("id")
	if err := actingFor(c, id); err != nil {
		return err
	}
	if _, err := s.deps.Store.GetAgent(c.Request().Context(), id); errors.Is(err, store.ErrNotFound) {
		return notFound("agent")
	} else if err != nil {
		return err
	}
	return s.stream(c, events.ForAgent(id))
}

// wallEvents streams queue, agent and callback changes for supervisors.
func (s *Server) wallEvents(c echo.Context) error {
	return s.stream(c, events.ForWall())
}

// stream writes the audience's events as Server-Sent Events until the client
// goes: first what it missed since Last-Event-ID, then `ready`, then live.
func (s *Server) stream(c echo.Context, a events.Audience) error {
	hub := s.deps.Events
	if hub == nil {
		return problem(http.StatusServiceUnavailable, "live events are not served by this process")
	}
	var from *events.Cursor
	field, last := "Last-Event-ID", c.Request().Header.Get("Last-Event-ID")
	if last == "" {
		field, last = "last_event_id", c.QueryParam("last_event_id")
	}
	if last != "" {
		cur, err := events.ParseCursor(last)
		if err != nil {
			return invalidField(field, "is not an event id of this stream (send the id of the last event received)")
		}
		from = &cur
	}

	ctx := c.Request().Context()
	sub, err := hub.Subscribe(ctx, a)
	if err != nil {
		return err
	}
	defer hub.Unsubscribe(sub)

	resume := ""
	var missed []events.Event
	if from != nil {
		ok, err := hub.Known(ctx, *from)
		if err != nil {
			return err
		}
		if ok {
			if missed, err = hub.Between(ctx, a, *from, sub.Start); err != nil {
				return err
			}
		} else {
			resume = "the event " + from.String() + " is no longer kept (events are kept for a limited time): read the current state again"
		}
	}

	// A stream outlives the server's read and write timeouts.
	rc := http.NewResponseController(c.Response())
	_ = rc.SetReadDeadline(time.Time{})
	_ = rc.SetWriteDeadline(time.Time{})
	h := c.Response().Header()
	h.Set(echo.HeaderContentType, "text/event-stream")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Accel-Buffering", "no")
	c.Response().WriteHeader(http.StatusOK)

	w := c.Response()
	write := func(b []byte) error {
		if _, err := w.Write(b); err != nil {
			return err
		}
		return rc.Flush()
	}
	if err := write([]byte("retry: 1000\n\n")); err != nil {
		return nil
	}
	start := sub.Start.String()
	if resume != "" {
		data, _ := json.Marshal(map[string]string{"reason": resume, "cursor": start})
		if write(events.Encode(start, "reset", data)) != nil {
			return nil
		}
	}
	for _, e := range missed {
		if write(events.EncodeEvent(e)) != nil {
			return nil
		}
	}
	ready, _ := json.Marshal(map[string]string{"cursor": start})
	if write(events.Encode(start, "ready", ready)) != nil {
		return nil
	}

	every := s.deps.EventKeepAlive
	if every <= 0 {
		every = defaultKeepAlive
	}
	keepAlive := time.NewTicker(every)
	defer keepAlive.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-sub.Dropped():
			return nil
		case e := <-sub.Events():
			if write(events.EncodeEvent(e)) != nil {
				return nil
			}
			keepAlive.Reset(every)
		case <-keepAlive.C:
			if write([]byte(": keep-alive\n\n")) != nil {
				return nil
			}
		}
	}
}
