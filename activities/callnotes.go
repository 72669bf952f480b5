package activities

import (
	"context"
	"errors"
	"fmt"

	"github.com/google/uuid"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"

	"github.com/casehub/casehub/store"
)

// CallNote is what a case process learnt that belongs on the interaction it
// was started from: the contact the agent identified, or the case it
// created. The process that owns the record (the interaction's, or a
// callback's for a callback's call) records it: it owns the record's
// versions and the call's search attributes. Once that process has ended,
// the note goes on the record directly.
type CallNote struct {
	Interaction string `json:"interaction"` // the interaction's number
	UpdateName  string `json:"update_name"`
	UpdateID    string `json:"update_id"` // the same for every retry of one note

	ContactID  *uuid.UUID `json:"contact_id,omitempty"`
	By         string     `json:"by,omitempty"` // how the contact was identified
	CaseNumber string     `json:"case_number,omitempty"`
	AgentID    string     `json:"agent_id"`
	ProcessID  string     `json:"process_id"`
}

// Reason is the history line the note writes.
func (n CallNote) Reason() string {
	if n.By == "" {
		return "contact identified in " + n.ProcessID
	}
	return fmt.Sprintf("contact identified (%s) in %s", n.By, n.ProcessID)
}

// NoteOnCall hands n to the interaction's process and waits until it is
// recorded. A retry sends the same update id, which Temporal answers with the
// first outcome. An interaction whose process has ended gets the contact
// written directly (the case is already related by CreateCase); one with no
// record at all (a process started on its own) has nothing to note.
func (a *Activities) NoteOnCall(ctx context.Context, n CallNote) error {
	it, err := a.Store.GetInteraction(ctx, n.Interaction)
	if errors.Is(err, store.ErrNotFound) {
		activity.GetLogger(ctx).Info("no interaction record to note on", "interaction", n.Interaction)
		return nil
	}
	if err != nil {
		return classify(err)
	}
	h, err := a.Temporal.UpdateWorkflow(ctx, client.UpdateWorkflowOptions{
		WorkflowID: it.WorkflowID, UpdateID: n.UpdateID, UpdateName: n.UpdateName,
		Args: []any{n}, WaitForStage: client.WorkflowUpdateStageCompleted,
	})
	if err == nil {
		err = h.Get(ctx, nil)
	}
	var gone *serviceerror.NotFound
	var refused *temporal.ApplicationError
	switch {
	case err == nil:
		return nil
	case errors.As(err, &refused):
		// The interaction's process answered with an error: the same update
		// id would only get that answer again.
		return temporal.NewNonRetryableApplicationError("the interaction refused the note: "+refused.Error(), ErrTypeConflict, err)
	case !errors.As(err, &gone):
		return err
	}
	if n.ContactID == nil {
		return nil
	}
	_, err = a.Store.IdentifyContact(ctx, n.Interaction, *n.ContactID, n.AgentID, n.Reason())
	return classify(err)
}
