package bench

import (
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestRefusalMetric(t *testing.T) {
	r := AnswersResult{}
	d := newDesk(nil, kindCallbackAgentFirst, 0, 0)
	d.tally[kindChat] = &AnswerTally{Kind: kindChat, Accepts: 6, Rejects: 1}
	d.tally[kindCall] = &AnswerTally{Kind: kindCall, Accepts: 6, Rejects: 2, Refused: 1}
	d.refusals = []Refusal{{Kind: kindCall, Action: "accept", OfferID: "offer-x-1", Status: 409, Detail: "Not allowed now: the offer timed out"}}
	d.acceptLat = []time.Duration{10 * time.Millisecond, 30 * time.Millisecond}
	r.merge(d, map[string]int{kindCall: 6, kindChat: 6, kindCallbackAgentFirst: 6})

	require.Equal(t, 15, r.Sent)
	require.Equal(t, 1, r.Refused)
	require.Len(t, r.Refusals, 1)
	var kinds []string
	for _, k := range r.ByKind {
		kinds = append(kinds, k.Kind)
		require.Equal(t, 6, k.Items, k.Kind)
	}
	require.Equal(t, []string{kindCall, kindChat, kindCallbackAgentFirst}, kinds, "listed in a fixed order, kinds without answers too")
	require.Equal(t, 2, r.AcceptLatency.N)

	m := refusalMetric(r, nil)
	require.True(t, m.Available)
	require.Equal(t, "of 15", m.Unit)
	require.Equal(t, "calls 1/8, chats 0/7, agent-first callbacks 0/0", m.Note)
	require.Equal(t, false, *m.met(), "one refusal misses the target of none")

	// A second desk's answers add up.
	d2 := newDesk(nil, kindCallbackCustomerFirst, 0, 0)
	d2.tally[kindCallbackCustomerFirst] = &AnswerTally{Kind: kindCallbackCustomerFirst, Accepts: 4}
	d2.acceptLat = []time.Duration{20 * time.Millisecond}
	r.merge(d2, map[string]int{kindCallbackCustomerFirst: 4})
	require.Equal(t, 19, r.Sent)
	require.Equal(t, 3, r.AcceptLatency.N)
	require.Equal(t, kindCallbackCustomerFirst, r.ByKind[len(r.ByKind)-1].Kind)

	none := refusalMetric(AnswersResult{Sent: 4, ByKind: []AnswerTally{{Kind: kindCall, Accepts: 4}}}, nil)
	require.Equal(t, true, *none.met())
	require.False(t, refusalMetric(AnswersResult{}, nil).Available, "nothing sent is not a pass")
}

func TestDeskRejectsTheFirstOfferOfEveryNthItem(t *testing.T) {
	d := newDesk(nil, kindCallbackAgentFirst, 2, 0)
	offer := func(wf string) deskOffer { return deskOffer{ID: "o", WorkflowID: wf} }
	require.False(t, d.rejects(offer("interaction-1")))
	require.True(t, d.rejects(offer("interaction-2")), "the second item's first offer")
	require.False(t, d.rejects(offer("interaction-2")), "its next offer is accepted")
	require.False(t, d.rejects(offer("interaction-3")))
	require.True(t, d.rejects(offer("callback-CB0000004")))

	never := newDesk(nil, kindCallbackAgentFirst, 0, 0)
	for i := range 5 {
		require.False(t, never.rejects(offer(strings.Repeat("x", i+1))))
	}
}

func TestDeskTarget(t *testing.T) {
	d := newDesk(nil, kindCallbackCustomerFirst, 0, 0)
	for _, tc := range []struct {
		o          deskOffer
		kind, path string
	}{
		{deskOffer{WorkflowID: "interaction-IMS0000012", Channel: "voice"}, kindCall, "/v1/interactions/IMS0000012"},
		{deskOffer{WorkflowID: "interaction-IMS0000013", Channel: "chat"}, kindChat, "/v1/interactions/IMS0000013"},
		{deskOffer{WorkflowID: "callback-CB0000007", Channel: "voice"}, kindCallbackCustomerFirst, "/v1/callbacks/CB0000007"},
	} {
		kind, path, err := d.target(tc.o)
		require.NoError(t, err)
		require.Equal(t, tc.kind, kind)
		require.Equal(t, tc.path, path)
	}
	_, _, err := d.target(deskOffer{ID: "offer-1", WorkflowID: "agent-ann"})
	require.Error(t, err)
}

func TestReservationMetrics(t *testing.T) {
	r := ReservationResult{RingMs: 1000, Answered: 6, Unanswered: 3, UnansweredHolding: 3,
		Held:           summarize([]time.Duration{1300 * time.Millisecond, 1400 * time.Millisecond}),
		UnansweredHeld: summarize([]time.Duration{1100 * time.Millisecond})}
	ms := reservationMetrics(r, nil)
	require.Len(t, ms, 4)
	for _, m := range ms {
		require.True(t, m.Available, m.Key)
		require.Contains(t, m.Name, "1000 ms", m.Key)
	}
	require.Equal(t, 1300.0, *ms[0].Casehub)
	require.Equal(t, 1400.0, *ms[1].Casehub)
	require.Contains(t, ms[2].Name, "3 of 3 dials held an agent")
	require.False(t, reservationMetrics(ReservationResult{RingMs: 1000}, nil)[0].Available)
}

func TestWriteTableShowsCountsAsWholeNumbers(t *testing.T) {
	m := refusalMetric(AnswersResult{Sent: 28, ByKind: []AnswerTally{{Kind: kindCall, Accepts: 28}}}, nil)
	m.Met = m.met()
	var out strings.Builder
	WriteTable(&out, Results{Metrics: []Metric{m}})
	require.Contains(t, out.String(), "| 0 of 28 | – | – | <= 0 | yes |")
}
