//go:build faults

package faults

import (
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/casehub/casehub/store"
	"github.com/casehub/casehub/workflows"
)

// The dispatcher dies between its commit and its signal: the worker that
// booked Ann for the call is SIGKILLed at the failpoint "after-booking"
// (routing/failpoint_faults.go), so the offer is in PostgreSQL and no
// process has it. (The call waits as Ann comes, so the booking is her
// presence step in her own process, which signals the call's process after
// its commit. A call that arrives while she waits is booked and shown in
// one commit of its own open step: TestWorkerKilledAfterTheOfferShows.) A
// new worker delivers it (her task run again, whose step answers the offer
// it booked, or the routing sweeper) within seconds: Ann sees it, accepts
// it at once, and she was booked exactly once.
func TestDispatcherKilledBetweenCommitAndSignal(t *testing.T) {
	s := newSystem(t)
	// Redelivery must beat this by far: the bound below is on the booking.
	const within = 10 * time.Second
	q, ids, tokens := s.queue(map[string]any{"acceptance_timeout_seconds": 60, "wrapup_timeout_seconds": 0}, []string{"ann"})
	ann, tok := ids["ann"], tokens["ann"]

	// Only an armed worker runs: it dies at the first booking it delivers.
	w := s.armFailpoint("after-booking")
	_, n := s.ringIn("+12025551601", q)
	s.eventually(func() bool {
		return s.count(`SELECT count(*) FROM work_items WHERE workflow_id = $1 AND state = 'waiting'`, workflows.InteractionWorkflowID(n)) == 1
	}, "the call waits in the queue")
	// Her presence is answered by her process, which the failpoint kills
	// first: the answer comes from the next worker.
	cameIn := make(chan answer, 1)
	go func() {
		cameIn <- s.send("PUT", "/v1/agents/"+ann+"/presence", tok, "", map[string]any{"presence": "available"})
	}()
	s.requireKilled(w)

	// Booked and committed, received by no process.
	var booked struct {
		ID        string     `db:"id"`
		AgentID   string     `db:"agent_id"`
		State     string     `db:"state"`
		AckedAt   *time.Time `db:"acked_at"`
		OfferedAt time.Time  `db:"offered_at"`
	}
	require.NoError(t, s.db.Get(&booked, `SELECT o.id, o.agent_id, o.state, o.acked_at, o.offered_at
FROM offers o JOIN work_items i ON i.id = o.item_id WHERE i.workflow_id = $1`, workflows.InteractionWorkflowID(n)))
	require.Equal(t, ann, booked.AgentID)
	require.Equal(t, store.OfferPending, booked.State)
	require.Nil(t, booked.AckedAt, "no process received the offer")
	require.Empty(t, s.desk(ann, tok).PendingOffers, "an offer no process has is not shown")
	require.Equal(t, "new", s.interaction(n).State)

	s.startWorker()
	select {
	case a := <-cameIn:
		require.Equal(t, http.StatusOK, a.status, "answered by the next worker: %s", a.body)
	case <-time.After(90 * time.Second):
		t.Fatal("Ann's presence was not answered")
	}

	// The instant the offer shows, Ann accepts it; that must be within the
	// bound of the booking.
	deadline := booked.OfferedAt.Add(within)
	var shown time.Time
	for shown.IsZero() {
		d := s.desk(ann, tok)
		for _, o := range d.PendingOffers {
			if o.ID == booked.ID {
				shown = time.Now()
			}
		}
		if shown.IsZero() {
			require.True(t, time.Now().Before(deadline), "offer %s not shown to %s within %s of its booking", booked.ID, ann, within)
			time.Sleep(50 * time.Millisecond)
		}
	}
	s.must(http.StatusOK, "POST", "/v1/interactions/"+n+"/accept", tok, map[string]any{}, nil)
	t.Logf("offer %s booked at %s, shown to the agent %.2fs later", booked.ID, booked.OfferedAt.Format(time.RFC3339Nano), shown.Sub(booked.OfferedAt).Seconds())
	require.WithinDuration(t, booked.OfferedAt, shown, within)

	s.must(http.StatusOK, "POST", "/v1/interactions/"+n+"/end", tok, map[string]any{"disposition": "done"}, nil)
	d := s.requireClean(n, 1)
	require.Equal(t, []string{"new", "pending_acceptance", "work_in_progress", "closed_complete"}, states(d))
	require.Equal(t, ann, *d.PhoneLogs[0].AgentID)

	// Booked once: one offer for the item, for Ann, accepted; nothing is
	// left booked on her.
	require.Equal(t, 1, s.count(`SELECT count(*) FROM work_items WHERE workflow_id = $1`, workflows.InteractionWorkflowID(n)))
	require.Equal(t, 1, s.count(`SELECT count(*) FROM offers WHERE agent_id = $1`, ann))
	require.Equal(t, 1, s.count(`SELECT count(*) FROM offers WHERE id = $1 AND state = $2 AND acked_at IS NOT NULL`, booked.ID, store.OfferAccepted))
	s.eventually(func() bool {
		a := s.desk(ann, tok)
		return a.Presence == "available" && a.VoiceLoad == 0 && len(a.PendingOffers) == 0 && len(a.ReservedFor) == 0
	}, "Ann is free again")
}

// deskView is what an agent's desk reads from GET /v1/agents/{id}.
type deskView struct {
	ID            string        `json:"id"`
	Presence      string        `json:"presence"`
	VoiceLoad     int           `json:"voice_load"`
	ChatLoad      int           `json:"chat_load"`
	PresenceAt    time.Time     `json:"presence_at"`
	WrapUpUntil   *time.Time    `json:"wrapup_until"`
	PendingOffers []store.Offer `json:"pending_offers"`
	ReservedFor   []struct {
		OfferID    string `json:"offer_id"`
		CallbackID string `json:"callback_id"`
	} `json:"reserved_for"`
	// Work is what the agent holds: the desk shows each, so an agent whose
	// accept answered 503 in an outage (and took effect) still sees its call.
	Work []struct {
		ItemID      string `json:"item_id"`
		Interaction string `json:"interaction"`
		CallbackID  string `json:"callback_id"`
	} `json:"work"`
}

func (s *system) desk(id, token string) deskView {
	s.t.Helper()
	var d deskView
	s.must(http.StatusOK, "GET", "/v1/agents/"+id, token, nil, &d)
	return d
}

// startWorkerEnv starts one more worker with extra environment (a
// failpoint) and waits until it polls.
func (s *system) startWorkerEnv(env ...string) *proc {
	s.t.Helper()
	w := s.spawn("worker", append(append(s.baseEnv(), "CASEHUB_METRICS_ADDR="+freeAddr(s.t)), env...), "worker")
	require.Eventually(s.t, func() bool {
		require.True(s.t, w.alive(), "worker exited:\n%s", tail(w.log, 30))
		return strings.Contains(tail(w.log, 200), "worker polling")
	}, 2*time.Minute, 50*time.Millisecond, "worker polls")
	s.workers = append(s.workers, w)
	return w
}

// failpointWorker is the only worker left running, armed to die (SIGKILL)
// the first time it reaches a failpoint (routing/failpoint_faults.go).
type failpointWorker struct {
	*proc
	armed string // the file whose removal fires the failpoint once
}

func (s *system) armFailpoint(name string) failpointWorker {
	s.t.Helper()
	s.killWorkers()
	armed := filepath.Join(s.dir, "failpoint-"+name)
	require.NoError(s.t, os.WriteFile(armed, nil, 0o644))
	return failpointWorker{s.startWorkerEnv("CASEHUB_FAILPOINT="+name, "CASEHUB_FAILPOINT_FILE="+armed), armed}
}

// requireKilled waits until the armed worker has died at its failpoint,
// once, and leaves no worker running.
func (s *system) requireKilled(w failpointWorker) {
	s.t.Helper()
	select {
	case <-w.exited:
	case <-time.After(2 * time.Minute):
		s.t.Fatalf("the armed worker did not reach the failpoint:\n%s", tail(w.log, 40))
	}
	s.workers = nil
	status, ok := w.cmd.ProcessState.Sys().(syscall.WaitStatus)
	require.True(s.t, ok && status.Signaled() && status.Signal() == syscall.SIGKILL, "the worker was killed: %v", w.cmd.ProcessState)
	require.Contains(s.t, tail(w.log, 40), "failpoint: killing this process")
	require.NoFileExists(s.t, w.armed, "the failpoint fires once")
}

// The worker dies in the workflow task that showed an offer, before that
// task completes (SIGKILL at the failpoint "after-present"): the offer is
// committed and Ann's desk shows it, so she accepts it the instant she sees
// it, while no worker runs. The new worker runs the task again; it takes in
// her accept before the offer (a validator runs before the task's signals,
// and before the open step's answer), admits it, takes in the offer, and
// the accept takes. Ann is booked once. Both ways an offer reaches its
// process: in the open step's answer (Ann waits as the call arrives) and by
// a signal (the call waits as Ann comes).
func TestWorkerKilledAfterTheOfferShows(t *testing.T) {
	for _, annWaits := range []bool{true, false} {
		name := "call waits as Ann comes"
		if annWaits {
			name = "Ann waits as the call arrives"
		}
		t.Run(name, func(t *testing.T) {
			s := newSystem(t)
			var available []string
			if annWaits {
				available = []string{"ann"}
			}
			q, ids, tokens := s.queue(map[string]any{"acceptance_timeout_seconds": 60, "wrapup_timeout_seconds": 0}, []string{"ann"}, available...)
			ann, tok := ids["ann"], tokens["ann"]

			w := s.armFailpoint("after-present")
			_, n := s.ringIn("+12025551602", q)
			cameIn := make(chan answer, 1)
			if !annWaits {
				s.eventually(func() bool {
					return s.count(`SELECT count(*) FROM work_items WHERE workflow_id = $1 AND state = 'waiting'`, workflows.InteractionWorkflowID(n)) == 1
				}, "the call waits in the queue")
				// Her presence is answered by her process, which the
				// failpoint may kill first: the answer comes from the
				// next worker.
				go func() {
					cameIn <- s.send("PUT", "/v1/agents/"+ann+"/presence", tok, "", map[string]any{"presence": "available"})
				}()
			}
			s.requireKilled(w)

			// Shown, so Ann answers at once; no worker runs yet.
			offers := s.desk(ann, tok).PendingOffers
			require.Len(t, offers, 1, "the offer shows on Ann's desk")
			require.Equal(t, "pending_acceptance", s.interaction(n).State)
			accepted := make(chan answer, 1)
			go func() { accepted <- s.send("POST", "/v1/interactions/"+n+"/accept", tok, "", map[string]any{}) }()

			s.startWorker()
			for _, c := range []chan answer{accepted, cameIn} {
				if c == cameIn && annWaits {
					continue
				}
				select {
				case a := <-c:
					require.Equal(t, http.StatusOK, a.status, "answered by the next worker: %s", a.body)
				case <-time.After(90 * time.Second):
					t.Fatal("a request was not answered")
				}
			}
			require.Equal(t, "work_in_progress", s.interaction(n).State, "the accept of the offer the desk showed took")

			s.must(http.StatusOK, "POST", "/v1/interactions/"+n+"/end", tok, map[string]any{"disposition": "done"}, nil)
			d := s.requireClean(n, 1)
			require.Equal(t, []string{"new", "pending_acceptance", "work_in_progress", "closed_complete"}, states(d))
			require.Equal(t, 1, s.count(`SELECT count(*) FROM offers WHERE agent_id = $1`, ann), "booked once")
			require.Equal(t, 1, s.count(`SELECT count(*) FROM offers WHERE id = $1 AND state = $2`, offers[0].ID, store.OfferAccepted))
			s.eventually(func() bool {
				a := s.desk(ann, tok)
				return a.Presence == "available" && a.VoiceLoad == 0 && len(a.PendingOffers) == 0
			}, "Ann is free again")
		})
	}
}
