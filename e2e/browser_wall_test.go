package e2e

import (
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/casehub/casehub/store"
)

// The supervisors' wall follows a queue live: a call waits (and its wait
// grows), an agent comes and takes it (the queue empties, the agent is
// busy), then wraps up and is available again; a scheduled callback shows
// when it is due, and leaves the wall when it is cancelled.
func TestDeskBrowserWall(t *testing.T) {
	queue, agentID, token := deskAgent(t, map[string]any{"acceptance_timeout_seconds": 120, "wrapup_timeout_seconds": 0,
		"outbound_number": "+12025550100"}, "wes")
	p := openPage(t)
	p.signIn("/desk/wall.html?queues="+queue, "", supervisor())
	row := fmt.Sprintf(`tr.queue[data-queue=%q]`, queue)
	agent := func(state string) string {
		return fmt.Sprintf(`#agents [data-state=%q] [data-agent=%q]`, state, agentID)
	}
	p.waitExact(row+" .q-waiting", "0")
	p.waitVisible(agent("offline"))

	// Nobody is available: the call waits, and the wall says for how long.
	caller, _ := callerNumber(t)
	callID, n := ringIn(t, caller, queue, nil)
	p.waitExact(row+" .q-waiting", "1")
	p.waitText(row+" .q-oldest", "s")

	// The agent comes and takes the call.
	mustAPI(t, http.StatusOK, "PUT", "/v1/agents/"+agentID+"/presence", token, map[string]any{"presence": "available"}, nil)
	offeredTo(t, n, agentID)
	mustAPI(t, http.StatusOK, "POST", "/v1/interactions/"+n+"/accept", token, map[string]any{}, nil)
	p.waitExact(row+" .q-waiting", "0")
	p.waitExact(row+" .q-offered", "0")
	p.waitExact(row+" .q-oldest", "—")
	p.waitVisible(agent("busy"))

	// A callback for later: on the wall with when it is due.
	var cb store.Callback
	mustAPI(t, http.StatusCreated, "POST", "/v1/callbacks", supervisor(), map[string]any{"number": customerNumber(), "queue": queue,
		"scheduled_at": time.Now().Add(2*time.Hour + time.Minute).UTC().Format(time.RFC3339)}, &cb)
	cbRow := fmt.Sprintf(`tr.callback[data-callback=%q]`, cb.ID)
	p.waitText(cbRow+" .cb-due", "in 2h")
	p.waitText(cbRow+" .cb-state", "Scheduled")
	p.screenshot("wall.png")

	// The caller hangs up: no wrap-up time, the agent is available again.
	sim(t, "/sim/calls/"+callID+"/hangup", map[string]any{}, nil)
	waitState(t, n, "closed_complete")
	p.waitVisible(agent("available"))
	p.waitExact(row+" .q-available", "1")

	mustAPI(t, http.StatusOK, "POST", "/v1/callbacks/"+cb.ID+"/cancel", supervisor(), map[string]any{"reason": "test over"}, nil)
	p.waitGone(cbRow)
	require.Equal(t, "0", p.text(row+" .q-waiting"))
}
