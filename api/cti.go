package api

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/labstack/echo/v4"
	"go.temporal.io/api/serviceerror"

	"github.com/casehub/casehub/cti"
	"github.com/casehub/casehub/store"
	"github.com/casehub/casehub/workflows"
)

// What casehub did with a platform event.
const (
	eventSignalled     = "signalled"      // sent to the process that owns the call
	eventStarted       = "started"        // started (or joined) the process for a new contact
	eventUnknownCall   = "unknown_call"   // no process owns the call or chat
	eventProcessClosed = "process_closed" // the owning process has already ended
	eventRecorded      = "recorded"       // a chat message, kept on its interaction's transcript
)

type eventAnswer struct {
	Status     string `json:"status"`
	EventID    string `json:"event_id"`
	WorkflowID string `json:"workflow_id,omitempty"`
	Duplicate  bool   `json:"duplicate,omitempty"`
}

// ctiEvent takes an event from the telephony platform: signed with
// HMAC-SHA256, idempotent by event id, turned into a signal of the process
// that owns the call.
func (s *Server) ctiEvent(c echo.Context) error {
	if len(s.deps.CTISecret) == 0 {
		return problem(http.StatusServiceUnavailable, "CTI events are not configured on this server (no webhook secret)")
	}
	body, err := io.ReadAll(c.Request().Body)
	if err != nil {
		var he *echo.HTTPError
		if errors.As(err, &he) {
			return he
		}
		return malformed("could not read the request body")
	}
	if err := cti.Verify(s.deps.CTISecret, c.Request().Header.Get(cti.SignatureHeader), body, time.Now(), cti.DefaultTolerance); err != nil {
		detail, reason := "the "+cti.SignatureHeader+" header does not match the body", "bad_signature"
		switch {
		case errors.Is(err, cti.ErrMissingSignature):
			detail, reason = "send the "+cti.SignatureHeader+" header", "missing_signature"
		case errors.Is(err, cti.ErrMalformedSignature):
			detail, reason = "the "+cti.SignatureHeader+" header is malformed; expected t=<unix>,v1=<hex>", "malformed_signature"
		case errors.Is(err, cti.ErrStaleTimestamp):
			detail, reason = "the signature's timestamp is outside the replay window", "stale_signature"
		}
		s.deps.Counters.CTIEventRefused(reason)
		return problem(http.StatusUnauthorized, detail)
	}
	if err := requireJSON(c); err != nil {
		s.deps.Counters.CTIEventRefused("not_json")
		return err
	}
	ev, err := cti.ParseEvent(body)
	if err != nil {
		s.deps.Counters.CTIEventRefused("invalid_event")
		var fe *cti.FieldError
		switch {
		case errors.As(err, &fe) && fe.Field != "":
			return invalidField(fe.Field, fe.Detail)
		case errors.As(err, &fe): // the body as a whole: not JSON, not one object
			return malformed(fe.Detail)
		}
		return malformed("the event is not valid JSON")
	}

	ctx := c.Request().Context()
	if prior, err := s.deps.Store.GetCTIEvent(ctx, ev.ID); err == nil {
		return c.JSON(http.StatusOK, eventAnswer{Status: prior.Outcome, EventID: ev.ID, WorkflowID: prior.WorkflowID, Duplicate: true})
	} else if !errors.Is(err, store.ErrNotFound) {
		return err
	}

	outcome, workflowID, err := s.routeEvent(c, ev)
	if err != nil {
		return err // not recorded: the platform's retry runs it again
	}
	if _, err := s.deps.Store.RecordCTIEvent(ctx, store.CTIEvent{
		ID: ev.ID, Type: string(ev.Type), CallID: ev.CallID, ChatID: ev.ChatID,
		Outcome: outcome, WorkflowID: workflowID, Payload: json.RawMessage(body),
	}); err != nil {
		return err
	}
	if outcome == eventUnknownCall {
		leg := ev.CallID
		if leg == "" {
			leg = ev.ChatID
		}
		s.deps.Counters.CTIEventRefused("unknown_call")
		return &Problem{Type: "urn:casehub:problem:unknown-call", Title: "Unknown call", Status: http.StatusNotFound,
			Detail: "no casehub process owns call or chat " + leg + "; the event was recorded"}
	}
	return c.JSON(http.StatusAccepted, eventAnswer{Status: outcome, EventID: ev.ID, WorkflowID: workflowID})
}

// routeEvent delivers ev to its process and says what happened.
func (s *Server) routeEvent(c echo.Context, ev cti.Event) (outcome, workflowID string, err error) {
	ctx := c.Request().Context()
	if starts(ev.Type) {
		return s.startForEvent(c, ev)
	}
	workflowID = ev.Context[workflows.ContextWorkflowID]
	if workflowID == "" {
		for _, leg := range []string{ev.CallID, ev.CustomerCallID, ev.ChatID} {
			if leg == "" {
				continue
			}
			workflowID, err = s.deps.Store.LegOwner(ctx, leg)
			if err == nil {
				break
			}
			if !errors.Is(err, store.ErrNotFound) {
				return "", "", err
			}
		}
	}
	if workflowID == "" {
		s.deps.Logger.WarnContext(ctx, "CTI event for an unknown call", "event_id", ev.ID, "type", ev.Type, "call_id", ev.CallID, "chat_id", ev.ChatID)
		return eventUnknownCall, "", nil
	}
	if outcome, ok, err := s.recordChatMessage(ctx, ev, workflowID); ok || err != nil {
		return outcome, workflowID, err
	}
	err = s.deps.Temporal.SignalWorkflow(ctx, workflowID, "", workflows.SignalCTIEvent, ev)
	var nf *serviceerror.NotFound
	if errors.As(err, &nf) {
		return eventProcessClosed, workflowID, nil
	}
	if err != nil {
		return "", "", err
	}
	return eventSignalled, workflowID, nil
}

// recordChatMessage keeps a customer's chat message on its interaction's
// transcript directly: a chat's words stay in PostgreSQL rather than
// passing through its process's history. ok is false when the message is
// for the process after all: its record is not written yet (the chat's
// first moments), or it is not an interaction's chat.
func (s *Server) recordChatMessage(ctx context.Context, ev cti.Event, workflowID string) (outcome string, ok bool, err error) {
	number, isInteraction := strings.CutPrefix(workflowID, workflows.InteractionWorkflowID(""))
	if ev.Type != cti.EventChatMessage || !isInteraction {
		return "", false, nil
	}
	it, err := s.deps.Store.GetInteraction(ctx, number)
	switch {
	case errors.Is(err, store.ErrNotFound):
		return "", false, nil
	case err != nil:
		return "", false, err
	case it.State == store.InteractionClosedComplete:
		return eventProcessClosed, true, nil
	}
	sender := ev.From
	if sender == "" {
		sender = cti.SenderCustomer
	}
	if err := s.deps.Store.AddChatMessage(ctx, number, ev.ID, sender, ev.Text, ev.OccurredAt); err != nil {
		return "", false, err
	}
	return eventRecorded, true, nil
}

// starts reports whether an event opens a new contact rather than
// continuing one.
func starts(t cti.EventType) bool {
	return t == cti.EventIncomingCall || t == cti.EventIVRConnected || t == cti.EventChatOffered
}
