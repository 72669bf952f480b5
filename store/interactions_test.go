package store_test

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"github.com/casehub/casehub/store"
)

// interactionFixture holds a queue and two agents of its own, so that tests
// filtering by them see only their own interactions.
type interactionFixture struct {
	tag    string
	queue  string
	agent  string
	agent2 string
}

func newInteractionFixture(t testing.TB) interactionFixture {
	t.Helper()
	ctx := context.Background()
	tag := uuid.NewString()[:8]
	f := interactionFixture{tag: tag, queue: "q-" + tag, agent: "a-" + tag, agent2: "b-" + tag}
	_, err := st.UpsertQueue(ctx, store.Queue{Name: f.queue, AcceptanceTimeoutS: 30, OnReject: store.OnRejectReoffer})
	require.NoError(t, err)
	for _, a := range []string{f.agent, f.agent2} {
		_, err := st.UpsertAgent(ctx, a, "Agent "+a, 3)
		require.NoError(t, err)
	}
	return f
}

// open creates an inbound phone interaction in state new, changed by mod.
func (f interactionFixture) open(t testing.TB, mod func(*store.NewInteraction)) store.Interaction {
	t.Helper()
	ctx := context.Background()
	number, err := st.NextInteractionNumber(ctx)
	require.NoError(t, err)
	n := store.NewInteraction{
		Number: number, Channel: store.InteractionPhone, Direction: store.DirectionInbound,
		State: store.InteractionNew, WorkflowID: "interaction-" + number, Queue: f.queue,
		Actor: "cti", Reason: "incoming call",
	}
	if mod != nil {
		mod(&n)
	}
	in, err := st.CreateInteraction(ctx, n)
	require.NoError(t, err)
	// What the creation answers is the record as a later read finds it,
	// and so is what creating it again answers.
	read, err := st.GetInteraction(ctx, n.Number)
	require.NoError(t, err)
	require.Equal(t, read, in)
	again, err := st.CreateInteraction(ctx, n)
	require.NoError(t, err)
	require.Equal(t, read, again)
	return in
}

func ptr[T any](v T) *T { return &v }

func requireField(t *testing.T, err error, sentinel error, field string) {
	t.Helper()
	require.ErrorIs(t, err, sentinel)
	var fe *store.FieldError
	require.True(t, errors.As(err, &fe), "want a FieldError, got %v", err)
	require.Equal(t, field, fe.Field)
}

func TestInteractionNumbers(t *testing.T) {
	ctx := context.Background()
	first, err := st.NextInteractionNumber(ctx)
	require.NoError(t, err)
	second, err := st.NextInteractionNumber(ctx)
	require.NoError(t, err)
	require.Regexp(t, regexp.MustCompile(`^IMS[0-9]{7}$`), first)
	require.Regexp(t, regexp.MustCompile(`^IMS[0-9]{7}$`), second)
	require.Less(t, first, second, "numbers grow")
}

func TestCreateInteractionIsIdempotent(t *testing.T) {
	ctx := context.Background()
	f := newInteractionFixture(t)
	k, err := st.CreateCase(ctx, store.NewCase{Subject: "Invoice twice", ContactID: newCaseContact(t, nil).ID})
	require.NoError(t, err)
	in := f.open(t, func(n *store.NewInteraction) {
		n.ContactPhone = "+12025550143"
		n.IVR = map[string]string{"language": "en", "menu": "billing"}
		n.CaseNumber = strings.ToLower(k.Number) // as keyed
		n.ShortDescription = "Billing question"
	})
	require.Equal(t, 1, in.Version)
	require.Equal(t, store.InteractionNew, in.State)
	require.Equal(t, map[string]string{"language": "en", "menu": "billing"}, in.IVR)
	require.Equal(t, f.queue, *in.Queue)
	require.Nil(t, in.AgentID, "empty strings are stored as NULL")
	require.Nil(t, in.CreatedBy)
	require.Nil(t, in.AcceptedAt)
	require.Nil(t, in.ClosedAt)
	require.Len(t, in.Related, 1)
	require.Equal(t, store.RelatedRecord{Kind: store.RelatedCase, Ref: k.Number, CreatedAt: in.Related[0].CreatedAt}, in.Related[0])
	require.Equal(t, strings.ToLower(k.Number), *in.IVRCaseNumber, "kept as given")

	// A retried activity sends the same number again, perhaps with other data.
	again, err := st.CreateInteraction(ctx, store.NewInteraction{
		Number: in.Number, Channel: store.InteractionChat, Direction: store.DirectionOutbound,
		State: store.InteractionWorkInProgress, WorkflowID: "another", CaseNumber: "CS-000999",
	})
	require.NoError(t, err)
	require.Equal(t, in, again, "the existing interaction is returned unchanged")

	h, err := st.InteractionHistory(ctx, in.Number)
	require.NoError(t, err)
	require.Len(t, h, 1)
	require.Equal(t, store.HistoryEntry{Version: 1, FromState: "", ToState: store.InteractionNew,
		Actor: "cti", Reason: "incoming call", At: h[0].At}, h[0])
}

func TestCreateInteractionRefusesBadValues(t *testing.T) {
	ctx := context.Background()
	f := newInteractionFixture(t)
	base := func() store.NewInteraction {
		number, err := st.NextInteractionNumber(ctx)
		require.NoError(t, err)
		return store.NewInteraction{Number: number, Channel: store.InteractionPhone, Direction: store.DirectionInbound,
			State: store.InteractionNew, WorkflowID: "wf-" + number}
	}
	tests := []struct {
		name     string
		mod      func(*store.NewInteraction)
		sentinel error
		field    string
	}{
		{"bad number", func(n *store.NewInteraction) { n.Number = "X1" }, store.ErrInvalid, "number"},
		{"bad channel", func(n *store.NewInteraction) { n.Channel = "fax" }, store.ErrInvalid, "channel"},
		{"bad direction", func(n *store.NewInteraction) { n.Direction = "sideways" }, store.ErrInvalid, "direction"},
		{"bad state", func(n *store.NewInteraction) { n.State = "open" }, store.ErrInvalid, "state"},
		{"no workflow", func(n *store.NewInteraction) { n.WorkflowID = "" }, store.ErrInvalid, "workflow_id"},
		{"unknown queue", func(n *store.NewInteraction) { n.Queue = "nope-" + f.tag }, store.ErrNotFound, "queue"},
		{"unknown agent", func(n *store.NewInteraction) { n.AgentID = "nope-" + f.tag }, store.ErrNotFound, "agent_id"},
		{"unknown contact", func(n *store.NewInteraction) { n.ContactID = ptr(uuid.New()) }, store.ErrNotFound, "contact_id"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			n := base()
			tt.mod(&n)
			_, err := st.CreateInteraction(ctx, n)
			requireField(t, err, tt.sentinel, tt.field)
			_, err = st.GetInteraction(ctx, n.Number)
			require.ErrorIs(t, err, store.ErrNotFound, "nothing was written")
			h, err := st.InteractionHistory(ctx, n.Number)
			require.NoError(t, err)
			require.Empty(t, h)
		})
	}
}

func TestOutboundInteractionOpensAccepted(t *testing.T) {
	f := newInteractionFixture(t)
	in := f.open(t, func(n *store.NewInteraction) {
		n.Direction = store.DirectionOutbound
		n.State = store.InteractionWorkInProgress
		n.AgentID = f.agent
		n.CreatedBy = f.agent
	})
	require.NotNil(t, in.AcceptedAt)
	require.Nil(t, in.ClosedAt)
	require.Equal(t, f.agent, *in.CreatedBy)
}

// Both ways to change a record: ChangeInteraction, which reads it back, and
// ApplyInteractionChange, the routing steps' way, which does not.
func TestChangeInteractionNeverGoesBackwards(t *testing.T) {
	for _, how := range []struct {
		name   string
		change func(context.Context, store.InteractionChange) (store.Interaction, error)
	}{
		{"ChangeInteraction", st.ChangeInteraction},
		{"ApplyInteractionChange", func(ctx context.Context, c store.InteractionChange) (store.Interaction, error) {
			if err := st.ApplyInteractionChange(ctx, c); err != nil {
				return store.Interaction{}, err
			}
			return st.GetInteraction(ctx, c.Number)
		}},
	} {
		t.Run(how.name, func(t *testing.T) {
			ctx := context.Background()
			f := newInteractionFixture(t)
			in := f.open(t, nil)

			change := func(c store.InteractionChange) store.Interaction {
				t.Helper()
				c.Number = in.Number
				got, err := how.change(ctx, c)
				require.NoError(t, err)
				return got
			}

			offered := change(store.InteractionChange{Version: 2, State: store.InteractionPendingAcceptance,
				AgentID: ptr(f.agent), Actor: "routing", Reason: "offered"})
			require.Equal(t, 2, offered.Version)
			require.Equal(t, f.agent, *offered.AgentID)
			require.Nil(t, offered.AcceptedAt)

			accepted := change(store.InteractionChange{Version: 3, State: store.InteractionWorkInProgress, Actor: f.agent, Reason: "accepted"})
			require.Equal(t, 3, accepted.Version)
			require.NotNil(t, accepted.AcceptedAt)
			require.Equal(t, f.agent, *accepted.AgentID, "a nil field is left as it is")

			// The late activity of step 2 arrives again after step 3, with another state.
			late := change(store.InteractionChange{Version: 2, State: store.InteractionNew, AgentID: ptr(""), Actor: "late"})
			require.Equal(t, accepted, late, "a late step changes nothing")
			retried := change(store.InteractionChange{Version: 3, State: store.InteractionClosedComplete, Actor: "retry"})
			require.Equal(t, accepted, retried, "a retried step changes nothing")

			// A step that changes fields but not the state writes no history.
			noted := change(store.InteractionChange{Version: 4, Disposition: ptr("resolved_first_call"), ContactEmail: ptr("ann@example.com")})
			require.Equal(t, store.InteractionWorkInProgress, noted.State)
			require.Equal(t, "resolved_first_call", *noted.Disposition)
			require.Equal(t, "ann@example.com", *noted.ContactEmail)

			// Transferred: offered to another agent and accepted again; accepted_at
			// stays the first acceptance.
			change(store.InteractionChange{Version: 5, State: store.InteractionPendingAcceptance, AgentID: ptr(f.agent2), Actor: f.agent, Reason: "transfer"})
			again := change(store.InteractionChange{Version: 6, State: store.InteractionWorkInProgress, Actor: f.agent2, Reason: "accepted"})
			require.Equal(t, f.agent2, *again.AgentID)
			require.True(t, accepted.AcceptedAt.Equal(*again.AcceptedAt), "accepted_at is set the first time only")

			closed := change(store.InteractionChange{Version: 7, State: store.InteractionClosedComplete, AgentID: ptr(""), Queue: ptr(""), Actor: f.agent2, Reason: "call ended"})
			require.NotNil(t, closed.ClosedAt)
			require.Nil(t, closed.AgentID, `a pointer to "" clears the agent`)
			require.Nil(t, closed.Queue)
			require.Equal(t, 7, closed.Version)
			// A late step whose version wrote no history (step 4 kept the state)
			// must not write any now either.
			require.Equal(t, closed, change(store.InteractionChange{Version: 4, State: store.InteractionPendingAcceptance, Actor: "late"}))

			h, err := st.InteractionHistory(ctx, in.Number)
			require.NoError(t, err)
			type step struct {
				v        int
				from, to string
				actor    string
			}
			var got []step
			for _, e := range h {
				got = append(got, step{e.Version, e.FromState, e.ToState, e.Actor})
			}
			require.Equal(t, []step{
				{1, "", store.InteractionNew, "cti"},
				{2, store.InteractionNew, store.InteractionPendingAcceptance, "routing"},
				{3, store.InteractionPendingAcceptance, store.InteractionWorkInProgress, f.agent},
				{5, store.InteractionWorkInProgress, store.InteractionPendingAcceptance, f.agent},
				{6, store.InteractionPendingAcceptance, store.InteractionWorkInProgress, f.agent2},
				{7, store.InteractionWorkInProgress, store.InteractionClosedComplete, f.agent2},
			}, got, "no entry for the late or retried steps, none for step 4 that kept the state")
			for i := 1; i < len(h); i++ {
				require.False(t, h[i].At.Before(h[i-1].At), "history is in order")
			}
		})
	}
}

func TestChangeInteractionErrors(t *testing.T) {
	ctx := context.Background()
	f := newInteractionFixture(t)
	in := f.open(t, nil)

	_, err := st.ChangeInteraction(ctx, store.InteractionChange{Number: "IMS9999999999", Version: 2, State: store.InteractionClosedComplete})
	require.ErrorIs(t, err, store.ErrNotFound)

	_, err = st.ChangeInteraction(ctx, store.InteractionChange{Number: in.Number, Version: 2, State: "done"})
	requireField(t, err, store.ErrInvalid, "state")
	_, err = st.ChangeInteraction(ctx, store.InteractionChange{Number: in.Number, Version: 2, AgentID: ptr("ghost-" + f.tag)})
	requireField(t, err, store.ErrNotFound, "agent_id")
	ghost := uuid.New()
	_, err = st.ChangeInteraction(ctx, store.InteractionChange{Number: in.Number, Version: 2, ContactID: &ghost})
	requireField(t, err, store.ErrNotFound, "contact_id")

	got, err := st.GetInteraction(ctx, in.Number)
	require.NoError(t, err)
	require.Equal(t, in, got, "a refused change leaves nothing behind")
}

func TestConcurrentChangesKeepTheHighestVersion(t *testing.T) {
	ctx := context.Background()
	f := newInteractionFixture(t)
	in := f.open(t, nil)
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for v := 2; v <= 9; v++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := st.ChangeInteraction(ctx, store.InteractionChange{Number: in.Number, Version: v,
				Disposition: ptr(fmt.Sprint(v))})
			errs <- err
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		require.NoError(t, err)
	}
	got, err := st.GetInteraction(ctx, in.Number)
	require.NoError(t, err)
	require.Equal(t, 9, got.Version)
	require.Equal(t, "9", *got.Disposition)
}

func TestWorkNotesAreIdempotentByRequestID(t *testing.T) {
	ctx := context.Background()
	f := newInteractionFixture(t)
	in := f.open(t, nil)
	other := f.open(t, nil)

	first, err := st.AddWorkNote(ctx, in.Number, f.agent, "Caller asked about the invoice", "note-1-"+f.tag)
	require.NoError(t, err)
	again, err := st.AddWorkNote(ctx, in.Number, f.agent, "Caller asked about the invoice", "note-1-"+f.tag)
	require.NoError(t, err)
	require.Equal(t, first, again)
	_, err = st.AddWorkNote(ctx, in.Number, f.agent, "Sent the copy", "note-2-"+f.tag)
	require.NoError(t, err)

	_, err = st.AddWorkNote(ctx, other.Number, f.agent, "x", "note-1-"+f.tag)
	requireField(t, err, store.ErrDuplicate, "request_id")
	_, err = st.AddWorkNote(ctx, in.Number, f.agent, "   ", "note-3-"+f.tag)
	requireField(t, err, store.ErrInvalid, "body")
	_, err = st.AddWorkNote(ctx, in.Number, f.agent, strings.Repeat("x", 10001), "note-4-"+f.tag)
	requireField(t, err, store.ErrInvalid, "body")
	_, err = st.AddWorkNote(ctx, "IMS9999999998", f.agent, "lost", "note-5-"+f.tag)
	requireField(t, err, store.ErrNotFound, "interaction")

	notes, err := st.WorkNotes(ctx, in.Number)
	require.NoError(t, err)
	require.Len(t, notes, 2)
	require.Equal(t, first, notes[0])
	require.Equal(t, "Sent the copy", notes[1].Body)
}

func TestRelatedRecordsAreIdempotent(t *testing.T) {
	ctx := context.Background()
	f := newInteractionFixture(t)
	in := f.open(t, nil)
	require.NoError(t, st.AddRelated(ctx, in.Number, store.RelatedCase, "CS-000042"))
	require.NoError(t, st.AddRelated(ctx, in.Number, store.RelatedCase, "CS-000042"))
	require.NoError(t, st.AddRelated(ctx, in.Number, store.RelatedIncident, "INC0000001"))
	requireField(t, st.AddRelated(ctx, in.Number, "problem", "PRB1"), store.ErrInvalid, "kind")

	got, err := st.GetInteraction(ctx, in.Number)
	require.NoError(t, err)
	require.Len(t, got.Related, 2)
	require.Equal(t, "CS-000042", got.Related[0].Ref)
	require.Equal(t, "INC0000001", got.Related[1].Ref)

	// The record alone: the same row, without what is related to it.
	record, err := st.GetInteractionRecord(ctx, in.Number)
	require.NoError(t, err)
	require.Empty(t, record.Related)
	got.Related = record.Related
	require.Equal(t, got, record)
	_, err = st.GetInteractionRecord(ctx, "IMS9999999")
	require.ErrorIs(t, err, store.ErrNotFound)
}

func TestPhoneLogIsIdempotentByCallID(t *testing.T) {
	ctx := context.Background()
	f := newInteractionFixture(t)
	in := f.open(t, nil)
	start := time.Date(2025, 3, 1, 9, 0, 0, 0, time.UTC)
	l := store.PhoneLog{CallID: "call-" + f.tag, Interaction: in.Number, FromNumber: "+12025550143", ToNumber: "+12025550100",
		AgentID: ptr(f.agent), StartedAt: start, AnsweredAt: ptr(start.Add(5 * time.Second)), EndedAt: start.Add(65 * time.Second),
		DurationSeconds: 65}
	require.NoError(t, st.RecordPhoneLog(ctx, l))
	changed := l
	changed.DurationSeconds = 99
	require.NoError(t, st.RecordPhoneLog(ctx, changed), "a repeated call id is a no-op")

	other := f.open(t, nil)
	stolen := l
	stolen.Interaction = other.Number
	requireField(t, st.RecordPhoneLog(ctx, stolen), store.ErrDuplicate, "call_id")

	bad := l
	bad.CallID, bad.EndedAt = "call2-"+f.tag, start.Add(-time.Second)
	requireField(t, st.RecordPhoneLog(ctx, bad), store.ErrInvalid, "ended_at")

	logs, err := st.PhoneLogs(ctx, in.Number)
	require.NoError(t, err)
	require.Len(t, logs, 1)
	require.Equal(t, 65, logs[0].DurationSeconds)
	require.True(t, logs[0].StartedAt.Equal(start))
	require.True(t, logs[0].AnsweredAt.Equal(start.Add(5*time.Second)))
	require.Equal(t, f.agent, *logs[0].AgentID)
}

func TestTransfersAreIdempotentByRequestID(t *testing.T) {
	ctx := context.Background()
	f := newInteractionFixture(t)
	in := f.open(t, nil)
	at := time.Date(2025, 3, 1, 9, 1, 0, 0, time.UTC)
	tr := store.Transfer{Interaction: in.Number, FromAgent: f.agent, ToAgent: ptr(f.agent2), RequestID: "tr-1-" + f.tag, At: at}
	require.NoError(t, st.RecordTransfer(ctx, tr))
	require.NoError(t, st.RecordTransfer(ctx, tr))
	require.NoError(t, st.RecordTransfer(ctx, store.Transfer{Interaction: in.Number, FromAgent: f.agent2, ToQueue: ptr(f.queue),
		RequestID: "tr-2-" + f.tag}))
	requireField(t, st.RecordTransfer(ctx, store.Transfer{Interaction: in.Number, FromAgent: f.agent, RequestID: "tr-3-" + f.tag}),
		store.ErrInvalid, "to_agent")
	requireField(t, st.RecordTransfer(ctx, store.Transfer{Interaction: in.Number, FromAgent: f.agent, ToQueue: ptr("none-" + f.tag),
		RequestID: "tr-4-" + f.tag}), store.ErrNotFound, "to_queue")

	got, err := st.Transfers(ctx, in.Number)
	require.NoError(t, err)
	require.Len(t, got, 2)
	require.True(t, got[0].At.Equal(at))
	require.Equal(t, f.agent2, *got[0].ToAgent)
	require.Nil(t, got[0].ToQueue)
	require.Equal(t, f.queue, *got[1].ToQueue)
	require.False(t, got[1].At.IsZero(), "a zero At is the time of recording")
}

func TestChatTranscriptIsInOrder(t *testing.T) {
	ctx := context.Background()
	f := newInteractionFixture(t)
	in := f.open(t, func(n *store.NewInteraction) { n.Channel = store.InteractionChat; n.ChatID = "chat-" + f.tag })
	at := time.Date(2025, 3, 1, 9, 0, 0, 0, time.UTC)
	// Each message takes the next place as it arrives; a redelivered one
	// (same key) changes nothing.
	require.NoError(t, st.AddChatMessage(ctx, in.Number, "evt-1", store.SenderCustomer, "hello", at))
	require.NoError(t, st.AddChatMessage(ctx, in.Number, "process-agent-1", store.SenderAgent, "how can I help?", at.Add(time.Second)))
	require.NoError(t, st.AddChatMessage(ctx, in.Number, "process-agent-1", store.SenderAgent, "retried with other text", at))
	require.NoError(t, st.AddChatMessage(ctx, in.Number, "evt-2", store.SenderCustomer, "thanks", at.Add(2*time.Second)))
	requireField(t, st.AddChatMessage(ctx, in.Number, "evt-3", "bot", "beep", at), store.ErrInvalid, "sender")
	require.ErrorIs(t, st.AddChatMessage(ctx, "IMS9999999999", "evt-4", store.SenderCustomer, "x", at), store.ErrNotFound)

	msgs, err := st.ChatTranscript(ctx, in.Number)
	require.NoError(t, err)
	require.Len(t, msgs, 3)
	for i, want := range []string{"hello", "how can I help?", "thanks"} {
		require.Equal(t, i, msgs[i].Seq)
		require.Equal(t, want, msgs[i].Text)
	}
	require.Equal(t, store.SenderAgent, msgs[1].Sender)
}

func TestEscalateIsIdempotentByRequestID(t *testing.T) {
	ctx := context.Background()
	f := newInteractionFixture(t)
	in := f.open(t, func(n *store.NewInteraction) { n.Channel = store.InteractionChat })
	t0 := time.Date(2025, 3, 1, 9, 0, 0, 0, time.UTC)
	e := store.NewEscalation{Interaction: in.Number, Kind: store.RelatedIncident, RequestID: "esc-1-" + f.tag,
		CaseNumber: "CS-000077", ShortDescription: "Printer on fire", Actor: f.agent,
		ChatInitiatedAt: ptr(t0), ChatAcceptedAt: ptr(t0.Add(10 * time.Second)), ChatTerminatedAt: ptr(t0.Add(5 * time.Minute)),
		Transcript: "customer: hello\nagent: hi"}

	first, err := st.Escalate(ctx, e)
	require.NoError(t, err)
	require.Regexp(t, regexp.MustCompile(`^INC[0-9]{7}$`), first.Number)
	require.Equal(t, store.RelatedIncident, first.Kind)
	require.Equal(t, "CS-000077", *first.CaseNumber)
	require.Equal(t, f.agent, first.CreatedBy)
	require.True(t, first.ChatTerminatedAt.Equal(t0.Add(5*time.Minute)))
	require.Equal(t, e.Transcript, first.Transcript)

	e.ShortDescription = "retried"
	second, err := st.Escalate(ctx, e)
	require.NoError(t, err)
	require.Equal(t, first, second, "the retry returns the first incident")

	got, err := st.GetIncident(ctx, first.Number)
	require.NoError(t, err)
	require.Equal(t, first, got)

	req, err := st.Escalate(ctx, store.NewEscalation{Interaction: in.Number, Kind: store.RelatedRequest,
		RequestID: "esc-2-" + f.tag, ShortDescription: "New laptop", Actor: f.agent})
	require.NoError(t, err)
	require.Regexp(t, regexp.MustCompile(`^REQ[0-9]{7}$`), req.Number)
	got, err = st.GetServiceRequest(ctx, req.Number)
	require.NoError(t, err)
	require.Equal(t, req, got)
	_, err = st.GetServiceRequest(ctx, first.Number)
	require.ErrorIs(t, err, store.ErrNotFound)

	withIn, err := st.GetInteraction(ctx, in.Number)
	require.NoError(t, err)
	var refs []string
	for _, r := range withIn.Related {
		refs = append(refs, r.Kind+":"+r.Ref)
	}
	require.ElementsMatch(t, []string{"incident:" + first.Number, "request:" + req.Number}, refs, "one incident for two calls")

	_, err = st.Escalate(ctx, store.NewEscalation{Interaction: in.Number, Kind: "problem", RequestID: "esc-3-" + f.tag})
	requireField(t, err, store.ErrInvalid, "kind")
	_, err = st.Escalate(ctx, store.NewEscalation{Interaction: in.Number, Kind: store.RelatedRequest, RequestID: "esc-4-" + f.tag, Transcript: "x"})
	requireField(t, err, store.ErrInvalid, "transcript")
	_, err = st.Escalate(ctx, store.NewEscalation{Interaction: "IMS9999999997", Kind: store.RelatedIncident, RequestID: "esc-5-" + f.tag})
	requireField(t, err, store.ErrNotFound, "interaction")
	other := f.open(t, nil)
	_, err = st.Escalate(ctx, store.NewEscalation{Interaction: other.Number, Kind: store.RelatedIncident, RequestID: e.RequestID})
	requireField(t, err, store.ErrDuplicate, "request_id")
}

func TestListInteractionsFiltersAndPages(t *testing.T) {
	ctx := context.Background()
	f := newInteractionFixture(t)
	// Oldest first: a, b (chat), c (assigned), d (closed).
	a := f.open(t, nil)
	b := f.open(t, func(n *store.NewInteraction) { n.Channel = store.InteractionChat })
	c := f.open(t, func(n *store.NewInteraction) { n.AgentID = f.agent; n.State = store.InteractionPendingAcceptance })
	d := f.open(t, nil)
	_, err := st.ChangeInteraction(ctx, store.InteractionChange{Number: d.Number, Version: 2, State: store.InteractionClosedComplete})
	require.NoError(t, err)

	numbers := func(q store.InteractionQuery) []string {
		t.Helper()
		list, err := st.ListInteractions(ctx, q)
		require.NoError(t, err)
		out := []string{}
		for _, i := range list {
			out = append(out, i.Number)
		}
		return out
	}
	require.Equal(t, []string{d.Number, c.Number, b.Number, a.Number}, numbers(store.InteractionQuery{Queue: f.queue}), "newest first")
	require.Equal(t, []string{b.Number}, numbers(store.InteractionQuery{Queue: f.queue, Channel: store.InteractionChat}))
	require.Equal(t, []string{c.Number}, numbers(store.InteractionQuery{AgentID: f.agent}))
	require.Empty(t, numbers(store.InteractionQuery{AgentID: f.agent2}))
	require.Equal(t, []string{d.Number}, numbers(store.InteractionQuery{Queue: f.queue, State: store.InteractionClosedComplete}))
	require.Equal(t, []string{a.Number}, numbers(store.InteractionQuery{Queue: f.queue, State: store.InteractionNew, Channel: store.InteractionPhone}))

	require.Equal(t, []string{d.Number, c.Number}, numbers(store.InteractionQuery{Queue: f.queue, Limit: 2}))
	require.Equal(t, []string{b.Number, a.Number}, numbers(store.InteractionQuery{Queue: f.queue, Limit: 2, Offset: 2}))

	// Time range: from is inclusive, to exclusive.
	got, err := st.GetInteraction(ctx, c.Number)
	require.NoError(t, err)
	require.Equal(t, []string{d.Number, c.Number}, numbers(store.InteractionQuery{Queue: f.queue, From: &got.CreatedAt}))
	require.Equal(t, []string{b.Number, a.Number}, numbers(store.InteractionQuery{Queue: f.queue, To: &got.CreatedAt}))
	future := time.Now().Add(time.Hour)
	require.Empty(t, numbers(store.InteractionQuery{Queue: f.queue, From: &future}))
}

// An interaction opened for a contact takes the contact's company, email
// and phone where the opener gave none.
func TestInteractionTakesTheContactsCompanyAndOptions(t *testing.T) {
	ctx := context.Background()
	f := newInteractionFixture(t)
	co, err := st.CreateCompany(ctx, "Initech "+f.tag)
	require.NoError(t, err)
	email := "peter-" + f.tag + "@initech.example"
	c, err := st.CreateContact(ctx, store.NewContact{Name: "Peter " + f.tag, CompanyID: &co.ID, CommunicationOptions: []store.CommunicationOption{
		{Kind: "phone", Value: "+12025550170"}, {Kind: "email", Value: email}, {Kind: "phone", Value: "+12025550171"},
	}})
	require.NoError(t, err)

	walkIn := f.open(t, func(n *store.NewInteraction) {
		n.Channel, n.ContactID, n.ContactPhone = store.InteractionWalkIn, &c.ID, ""
	})
	require.Equal(t, &co.ID, walkIn.CompanyID)
	require.Equal(t, email, *walkIn.ContactEmail)
	require.Equal(t, "+12025550170", *walkIn.ContactPhone, "the first phone")

	call := f.open(t, func(n *store.NewInteraction) { n.ContactID, n.ContactPhone = &c.ID, "+12025550171" })
	require.Equal(t, "+12025550171", *call.ContactPhone, "the number that called is kept")
	require.Equal(t, &co.ID, call.CompanyID)
}

// An escalation without a case number is linked to the interaction's case,
// whichever process related it (here: a case added during the call).
func TestEscalationTakesTheInteractionsCase(t *testing.T) {
	ctx := context.Background()
	f := newInteractionFixture(t)
	in := f.open(t, nil)
	none, err := st.Escalate(ctx, store.NewEscalation{Interaction: in.Number, Kind: store.RelatedRequest,
		RequestID: "esc-none-" + f.tag, ShortDescription: "before any case", Actor: f.agent})
	require.NoError(t, err)
	require.Nil(t, none.CaseNumber, "no case yet")

	require.NoError(t, st.AddRelated(ctx, in.Number, store.RelatedCase, "CS-000901"))
	inc, err := st.Escalate(ctx, store.NewEscalation{Interaction: in.Number, Kind: store.RelatedIncident,
		RequestID: "esc-case-" + f.tag, ShortDescription: "after the case", Actor: f.agent})
	require.NoError(t, err)
	require.Equal(t, "CS-000901", *inc.CaseNumber)

	named, err := st.Escalate(ctx, store.NewEscalation{Interaction: in.Number, Kind: store.RelatedIncident,
		RequestID: "esc-named-" + f.tag, CaseNumber: "CS-000902", ShortDescription: "named case", Actor: f.agent})
	require.NoError(t, err)
	require.Equal(t, "CS-000902", *named.CaseNumber, "a case the agent names wins")
}

// An agent choosing another contact (a chat's several matches) moves the
// record to that contact's company.
func TestChosenContactBringsItsCompany(t *testing.T) {
	ctx := context.Background()
	f := newInteractionFixture(t)
	var contacts []store.Contact
	var companies []store.Company
	for _, name := range []string{"Globex", "Hooli"} {
		co, err := st.CreateCompany(ctx, name+" "+f.tag)
		require.NoError(t, err)
		c, err := st.CreateContact(ctx, store.NewContact{Name: "Sam " + name + " " + f.tag, CompanyID: &co.ID})
		require.NoError(t, err)
		companies, contacts = append(companies, co), append(contacts, c)
	}
	in := f.open(t, func(n *store.NewInteraction) { n.Channel, n.ContactID = store.InteractionChat, &contacts[0].ID })
	require.Equal(t, &companies[0].ID, in.CompanyID)

	got, err := st.ChangeInteraction(ctx, store.InteractionChange{Number: in.Number, Version: 2, ContactID: &contacts[1].ID})
	require.NoError(t, err)
	require.Equal(t, &contacts[1].ID, got.ContactID)
	require.Equal(t, &companies[1].ID, got.CompanyID)
}

// The contact identified on a record whose process has ended lands with its
// company and one history line, at the next version; naming it again
// changes nothing.
func TestIdentifyContactOnARecordWhoseProcessEnded(t *testing.T) {
	ctx := context.Background()
	f := newInteractionFixture(t)
	co, err := st.CreateCompany(ctx, "Initrode "+f.tag)
	require.NoError(t, err)
	c, err := st.CreateContact(ctx, store.NewContact{Name: "Pat " + f.tag, CompanyID: &co.ID})
	require.NoError(t, err)
	in := f.open(t, nil)
	closed, err := st.ChangeInteraction(ctx, store.InteractionChange{Number: in.Number, Version: 2,
		State: store.InteractionClosedComplete, Actor: "cti", Reason: "caller hung up"})
	require.NoError(t, err)

	for range 2 {
		got, err := st.IdentifyContact(ctx, in.Number, c.ID, f.agent, "contact identified (new_contact) in p-1")
		require.NoError(t, err)
		require.Equal(t, &c.ID, got.ContactID)
		require.Equal(t, &co.ID, got.CompanyID)
		require.Equal(t, store.InteractionClosedComplete, got.State, "the state stays")
		require.Equal(t, closed.ClosedAt, got.ClosedAt)
		require.Equal(t, 3, got.Version)
	}
	h, err := st.InteractionHistory(ctx, in.Number)
	require.NoError(t, err)
	require.Len(t, h, 3)
	last := h[2]
	require.Equal(t, 3, last.Version)
	require.Equal(t, store.InteractionClosedComplete, last.FromState)
	require.Equal(t, store.InteractionClosedComplete, last.ToState)
	require.Equal(t, f.agent, last.Actor)
	require.Equal(t, "contact identified (new_contact) in p-1", last.Reason)

	_, err = st.IdentifyContact(ctx, "IMS-none-"+f.tag, c.ID, f.agent, "x")
	require.ErrorIs(t, err, store.ErrNotFound)
}

// A case number the caller keys that names no case is kept as given and
// never related; one that does is related, whenever the IVR gives it.
func TestGivenCaseNumbersAreRelatedOnlyWhenTheCaseExists(t *testing.T) {
	ctx := context.Background()
	f := newInteractionFixture(t)
	in := f.open(t, func(n *store.NewInteraction) { n.CaseNumber = "CS-999999x" })
	require.Equal(t, "CS-999999x", *in.IVRCaseNumber)
	require.Empty(t, in.Related, "no such case")

	k, err := st.CreateCase(ctx, store.NewCase{Subject: "Late delivery", ContactID: newCaseContact(t, nil).ID})
	require.NoError(t, err)
	other := f.open(t, nil)
	require.Nil(t, other.IVRCaseNumber)
	require.NoError(t, st.RecordIVR(ctx, other.Number, map[string]string{"menu": "orders"}, "CS-424242x"))
	got, err := st.GetInteraction(ctx, other.Number)
	require.NoError(t, err)
	require.Equal(t, "CS-424242x", *got.IVRCaseNumber)
	require.Empty(t, got.Related)
	require.NoError(t, st.RecordIVR(ctx, other.Number, nil, " "+k.Number+" "))
	got, err = st.GetInteraction(ctx, other.Number)
	require.NoError(t, err)
	require.Len(t, got.Related, 1)
	require.Equal(t, k.Number, got.Related[0].Ref)
}

// Messages arriving at once each take their own place.
func TestChatMessagesAddedAtOnceTakeTheirOwnPlaces(t *testing.T) {
	ctx := context.Background()
	f := newInteractionFixture(t)
	in := f.open(t, func(n *store.NewInteraction) { n.Channel = store.InteractionChat; n.ChatID = "chat-" + f.tag })
	const n = 20
	errs := make(chan error, n)
	for i := range n {
		go func() {
			errs <- st.AddChatMessage(ctx, in.Number, fmt.Sprintf("evt-%d", i), store.SenderCustomer, fmt.Sprintf("m%d", i), time.Now())
		}()
	}
	for range n {
		require.NoError(t, <-errs)
	}
	msgs, err := st.ChatTranscript(ctx, in.Number)
	require.NoError(t, err)
	require.Len(t, msgs, n)
	for i, m := range msgs {
		require.Equal(t, i, m.Seq)
	}
}
