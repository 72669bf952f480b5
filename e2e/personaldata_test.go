package e2e

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"
	commonpb "go.temporal.io/api/common/v1"
	"go.temporal.io/api/enums/v1"
	historypb "go.temporal.io/api/history/v1"
	sdkpb "go.temporal.io/api/sdk/v1"
	"go.temporal.io/sdk/converter"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"

	"github.com/casehub/casehub/codec"
	"github.com/casehub/casehub/store"
	"github.com/casehub/casehub/workflows"
)

// rawHistory is a process's history as the Temporal server stores it (and
// its Web UI shows it without the codec).
func rawHistory(t *testing.T, workflowID string) *historypb.History {
	t.Helper()
	it := sys.client.GetWorkflowHistory(context.Background(), workflowID, "", false, enums.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	h := &historypb.History{}
	for it.HasNext() {
		ev, err := it.Next()
		require.NoError(t, err)
		h.Events = append(h.Events, ev)
	}
	require.NotEmpty(t, h.Events, workflowID)
	return h
}

// payloadsIn finds every payload anywhere in m.
func payloadsIn(m protoreflect.Message) []*commonpb.Payload {
	if p, ok := m.Interface().(*commonpb.Payload); ok {
		return []*commonpb.Payload{p}
	}
	var out []*commonpb.Payload
	m.Range(func(fd protoreflect.FieldDescriptor, v protoreflect.Value) bool {
		switch {
		case fd.IsMap() && fd.MapValue().Kind() == protoreflect.MessageKind:
			v.Map().Range(func(_ protoreflect.MapKey, mv protoreflect.Value) bool {
				out = append(out, payloadsIn(mv.Message())...)
				return true
			})
		case fd.IsList() && fd.Kind() == protoreflect.MessageKind:
			for i := range v.List().Len() {
				out = append(out, payloadsIn(v.List().Get(i).Message())...)
			}
		case !fd.IsMap() && !fd.IsList() && fd.Kind() == protoreflect.MessageKind:
			out = append(out, payloadsIn(v.Message())...)
		}
		return true
	})
	return out
}

// stored is everything of h the Temporal server keeps, as text: every
// string field and every payload's bytes.
func stored(t *testing.T, h *historypb.History) string {
	t.Helper()
	raw, err := protojson.Marshal(h)
	require.NoError(t, err)
	var b strings.Builder
	b.Write(raw)
	for _, p := range payloadsIn(h.ProtoReflect()) {
		b.Write(p.GetData())
		for k, v := range p.GetMetadata() {
			b.WriteString(k + "=" + string(v))
		}
	}
	return b.String()
}

// opened is what a supervisor signed in to the codec reads of h: every
// payload opened.
func opened(t *testing.T, h *historypb.History) string {
	t.Helper()
	c := codec.New(sys.keys)
	var b strings.Builder
	for _, p := range payloadsIn(h.ProtoReflect()) {
		dec, err := c.Decode([]*commonpb.Payload{proto.Clone(p).(*commonpb.Payload)})
		require.NoError(t, err)
		b.Write(dec[0].GetData())
	}
	return b.String()
}

// shownInUI is what the Temporal UI shows of a process through the codec:
// the user metadata of its history (the start's static summary and details,
// every timer's summary), its current details and its handlers'
// descriptions. It checks each is there: static details on the start,
// current details, a summary on every timer, a description on every
// handler.
func shownInUI(t *testing.T, workflowID string, h *historypb.History) string {
	t.Helper()
	c := codec.New(sys.keys)
	text := func(p *commonpb.Payload) string {
		if p == nil {
			return ""
		}
		dec, err := c.Decode([]*commonpb.Payload{proto.Clone(p).(*commonpb.Payload)})
		require.NoError(t, err)
		var s string
		require.NoError(t, converter.GetDefaultDataConverter().FromPayload(dec[0], &s))
		return s
	}
	var b strings.Builder
	for _, ev := range h.GetEvents() {
		summary, details := text(ev.GetUserMetadata().GetSummary()), text(ev.GetUserMetadata().GetDetails())
		switch ev.GetEventType() {
		case enums.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED:
			require.NotEmpty(t, summary, "%s: a static summary", workflowID)
			require.NotEmpty(t, details, "%s: static details", workflowID)
		case enums.EVENT_TYPE_TIMER_STARTED:
			require.NotContains(t, []string{"", "AwaitWithTimeout", "Sleep"}, summary, "%s: timer %d says what it waits for", workflowID, ev.GetEventId())
		}
		b.WriteString(summary + "\n" + details + "\n")
	}
	v, err := sys.client.QueryWorkflow(context.Background(), workflowID, "", "__temporal_workflow_metadata")
	require.NoError(t, err)
	var md *sdkpb.WorkflowMetadata
	require.NoError(t, v.Get(&md))
	require.NotEmpty(t, md.GetCurrentDetails(), "%s: current details", workflowID)
	b.WriteString(md.GetCurrentDetails() + "\n")
	def := md.GetDefinition()
	for _, d := range append(append(def.GetQueryDefinitions(), def.GetSignalDefinitions()...), def.GetUpdateDefinitions()...) {
		require.NotEmpty(t, d.GetDescription(), "%s: handler %s has a description", workflowID, d.GetName())
		b.WriteString(d.GetName() + ": " + d.GetDescription() + "\n")
	}
	return b.String()
}

// A caller's number, email and name reach Temporal only sealed: the
// histories of a call, a chat, a case process, the agent's process and a
// callback hold none of them in clear, while a supervisor with the key
// reads them all (so the search is not vacuous: without the codec this test
// fails). What the Temporal UI shows that supervisor of each process (its
// static and current details, timer summaries, handler descriptions) holds
// none of them either.
func TestHistoriesHoldNoPersonalDataInClear(t *testing.T) {
	desk := newCallDesk(t)
	e164, _ := callerNumber(t)
	name := "Zelda Quill " + uuid.NewString()[:6]
	email := "zelda." + strings.ToLower(uuid.NewString()[:8]) + "@example.com"

	// A call, with a case process that registers the caller as a contact.
	id, n := desk.startCaseProcess(workflows.CaseProcessAddNewCase, e164)
	ps := desk.step(id, "new-contact", map[string]any{"name": name, "email": email})
	desk.step(id, "submit-case", submitted)
	mustAPI(t, http.StatusOK, "POST", "/v1/interactions/"+n+"/end", desk.token, map[string]any{}, nil)
	waitState(t, n, "closed_complete")
	requireCompleted(t, id)

	// A chat from the same customer, matched by email.
	var c struct{ ID string }
	sim(t, "/sim/chats", map[string]any{"email": email, "name": name, "queue": desk.queue, "text": "hello, it is " + name}, &c)
	chat := interactionOf(t, c.ID, "the chat opens an interaction")
	offeredTo(t, chat, desk.agentID)
	mustAPI(t, http.StatusOK, "POST", "/v1/interactions/"+chat+"/accept", desk.token, map[string]any{}, nil)
	mustAPI(t, http.StatusOK, "POST", "/v1/interactions/"+chat+"/end", desk.token, map[string]any{}, nil)
	waitState(t, chat, "closed_complete")
	require.Equal(t, ps.Contact.ID, *getInteraction(t, chat).ContactID, "the chat found the contact by email")

	// A callback to the same number, for later in New York, with the
	// caller's name in its reason, cancelled with the name in the reason.
	var cb store.Callback
	mustAPI(t, http.StatusCreated, "POST", "/v1/callbacks", supervisor(), map[string]any{
		"number": e164, "queue": desk.queue, "time_zone": "America/New_York", "context": map[string]any{"reason": "call back " + name},
		"scheduled_at": time.Now().Add(2 * time.Hour).UTC().Format(time.RFC3339),
	}, &cb)
	waitCallback(t, cb.ID, step(workflows.CallbackStepScheduled), "the callback waits for its time")
	mustAPI(t, http.StatusOK, "POST", "/v1/callbacks/"+cb.ID+"/cancel", supervisor(), map[string]any{"reason": name + " called"}, nil)
	waitCallback(t, cb.ID, closed(store.CallbackCancelled), "cancelled")

	secrets := []string{e164, strings.TrimPrefix(e164, "+1"), email, name}
	var all strings.Builder
	for _, wf := range []string{id, workflows.InteractionWorkflowID(n), workflows.InteractionWorkflowID(chat), workflows.AgentWorkflowID(desk.agentID),
		workflows.CallbackWorkflowID(cb.ID)} {
		h := rawHistory(t, wf)
		text := stored(t, h)
		for _, s := range secrets {
			require.False(t, strings.Contains(text, s), "%s holds %q in clear", wf, s)
		}
		all.WriteString(opened(t, h))

		// What the Temporal UI shows a signed-in supervisor: static summary
		// and details, timer summaries, current details, handler
		// descriptions. Ids, queues, states and times; nothing personal.
		ui := shownInUI(t, wf, h)
		for _, s := range secrets {
			require.False(t, strings.Contains(ui, s), "%s shows %q in the Temporal UI:\n%s", wf, s, ui)
		}
	}
	for _, s := range []string{e164, email, name} {
		require.True(t, strings.Contains(all.String(), s), "a signed-in supervisor reads %q", s)
	}
}

// A contact with 200 cases of 10,000-character descriptions and a chat of
// 2,000 messages: what the processes carry stays small, since descriptions
// and transcripts stay in PostgreSQL.
func TestPayloadsStaySmall(t *testing.T) {
	const (
		maxPayload = 64 << 10 // bytes, sealed
		cases      = 200
		messages   = 2000
	)
	desk := newCallDesk(t)
	e164, _ := callerNumber(t)
	email := "long." + strings.ToLower(uuid.NewString()[:8]) + "@example.com"
	var c store.Contact
	mustAPI(t, http.StatusCreated, "POST", "/v1/contacts", supervisor(), map[string]any{"name": "Long History",
		"communication_options": []map[string]any{{"kind": "phone", "value": e164}, {"kind": "email", "value": email}}}, &c)
	long := strings.Repeat("The router reboots every night. ", 10000/32)
	for i := range cases {
		_, err := sys.store.CreateCase(context.Background(), store.NewCase{Subject: "Case " + strings.Repeat("x", i%50), Description: long, ContactID: c.ID})
		require.NoError(t, err)
	}

	// Advise on existing case: the contact page with all 200 cases.
	id, n := desk.startCaseProcess(workflows.CaseProcessAdvise, e164)
	st := desk.state(id)
	require.Len(t, st.History, cases)
	desk.step(id, "finish", nil)
	requireCompleted(t, id)
	mustAPI(t, http.StatusOK, "POST", "/v1/interactions/"+n+"/end", desk.token, map[string]any{}, nil)
	waitState(t, n, "closed_complete")

	// A chat of 2,000 messages, escalated to an incident with its transcript.
	var chat struct{ ID string }
	sim(t, "/sim/chats", map[string]any{"email": email, "name": "Long History", "queue": desk.queue, "text": "hello"}, &chat)
	cn := interactionOf(t, chat.ID, "the chat opens an interaction")
	offeredTo(t, cn, desk.agentID)
	mustAPI(t, http.StatusOK, "POST", "/v1/interactions/"+cn+"/accept", desk.token, map[string]any{}, nil)
	for i := 1; i < messages; i++ {
		sim(t, "/sim/chats/"+chat.ID+"/messages", map[string]any{"text": "line " + strings.Repeat("y", 40)}, nil)
	}
	eventually(t, func() bool { return len(getInteraction(t, cn).Transcript) == messages }, "every message kept")
	mustAPI(t, http.StatusCreated, "POST", "/v1/interactions/"+cn+"/escalate", desk.token,
		map[string]any{"kind": "incident", "short_description": "Long chat"}, nil)
	mustAPI(t, http.StatusOK, "POST", "/v1/interactions/"+cn+"/end", desk.token, map[string]any{}, nil)
	waitState(t, cn, "closed_complete")

	events := len(rawHistory(t, workflows.InteractionWorkflowID(cn)).Events)
	require.Less(t, events, 150, "a chat's messages are kept by the API, not passed through its process (%d events)", events)
	for _, wf := range []string{id, workflows.InteractionWorkflowID(cn)} {
		largest := 0
		for _, p := range payloadsIn(rawHistory(t, wf).ProtoReflect()) {
			largest = max(largest, proto.Size(p))
		}
		require.Less(t, largest, maxPayload, "%s: largest payload %d bytes", wf, largest)
		t.Logf("%s: largest payload %d bytes", wf, largest)
	}
}
