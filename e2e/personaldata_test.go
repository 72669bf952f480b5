package e2e

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"
	commonpb "go.temporal.io/api/common/v1"
	"go.temporal.io/api/enums/v1"
	historypb "go.temporal.io/api/history/v1"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"

	"github.com/casehub/casehub/codec"
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

// A caller's number, email and name reach Temporal only sealed: the
// histories of a call, a chat and a case process hold none of them in
// clear, while a supervisor with the key reads them all (so the search is
// not vacuous: without the codec this test fails).
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
	var owner string
	eventually(t, func() bool {
		wf, err := sys.store.LegOwner(t.Context(), c.ID)
		owner = wf
		return err == nil
	}, "the chat opens an interaction")
	chat := number(owner)
	offeredTo(t, chat, desk.agentID)
	mustAPI(t, http.StatusOK, "POST", "/v1/interactions/"+chat+"/accept", desk.token, map[string]any{}, nil)
	mustAPI(t, http.StatusOK, "POST", "/v1/interactions/"+chat+"/end", desk.token, map[string]any{}, nil)
	waitState(t, chat, "closed_complete")
	require.Equal(t, ps.Contact.ID, *getInteraction(t, chat).ContactID, "the chat found the contact by email")

	secrets := []string{e164, strings.TrimPrefix(e164, "+1"), email, name}
	var all strings.Builder
	for _, wf := range []string{id, workflows.InteractionWorkflowID(n), workflows.InteractionWorkflowID(chat), workflows.AgentWorkflowID(desk.agentID)} {
		h := rawHistory(t, wf)
		text := stored(t, h)
		for _, s := range secrets {
			require.False(t, strings.Contains(text, s), "%s holds %q in clear", wf, s)
		}
		all.WriteString(opened(t, h))
	}
	for _, s := range []string{e164, email, name} {
		require.True(t, strings.Contains(all.String(), s), "a signed-in supervisor reads %q", s)
	}
}
