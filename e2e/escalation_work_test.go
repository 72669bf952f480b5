package e2e

import (
	"net/http"
	"testing"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"github.com/casehub/casehub/store"
	"github.com/casehub/casehub/workflows"
)

type escalationDetail struct {
	store.Escalation
	Activity []store.EscalationActivity `json:"activity"`
}

type escalationList struct {
	Items []store.Escalation `json:"items"`
}

func numbersOf(l escalationList) []string {
	out := []string{}
	for _, e := range l.Items {
		out = append(out, e.Number)
	}
	return out
}

func whats(d escalationDetail) []string {
	var out []string
	for _, a := range d.Activity {
		out = append(out, a.What+":"+a.From+">"+a.To)
	}
	return out
}

// Seed 001: "Work the Request or Incident per usual". An incident and a
// request escalated from a walk-in are found from their contact and
// company, taken, moved through their states and given work notes, each
// step a line of their own activity; the contact's interactions list the
// walk-in.
func TestIncidentsAndRequestsAreWorked(t *testing.T) {
	queue, tokens := setupQueue(t, nil, "jo", "kai")
	jo, kai := "jo-"+queue, "kai-"+queue
	var co store.Company
	mustAPI(t, http.StatusCreated, "POST", "/v1/companies", supervisor(), map[string]any{"name": "Umbrella " + queue}, &co)
	var pat store.Contact
	mustAPI(t, http.StatusCreated, "POST", "/v1/contacts", supervisor(), map[string]any{"name": "Pat " + queue, "company_id": co.ID}, &pat)

	var it store.Interaction
	mustAPI(t, http.StatusCreated, "POST", "/v1/interactions", tokens[jo], map[string]any{"channel": "walk_in", "queue": queue,
		"contact_id": pat.ID, "short_description": "Printer jams"}, &it)
	var inc, req workflows.EscalationRef
	mustAPI(t, http.StatusCreated, "POST", "/v1/interactions/"+it.Number+"/escalate", tokens[jo],
		map[string]any{"kind": "incident", "short_description": "Printer jams on every page"}, &inc)
	mustAPI(t, http.StatusCreated, "POST", "/v1/interactions/"+it.Number+"/escalate", tokens[jo],
		map[string]any{"kind": "request", "short_description": "Spare toner"}, &req)

	// The contact's interactions, incidents and requests; the company's.
	var ixs struct{ Items []store.Interaction }
	mustAPI(t, http.StatusOK, "GET", "/v1/interactions?contact_id="+pat.ID.String(), supervisor(), nil, &ixs)
	require.Len(t, ixs.Items, 1)
	require.Equal(t, it.Number, ixs.Items[0].Number)
	var l escalationList
	mustAPI(t, http.StatusOK, "GET", "/v1/incidents?contact_id="+pat.ID.String(), supervisor(), nil, &l)
	require.Equal(t, []string{inc.Number}, numbersOf(l))
	require.Equal(t, store.IncidentNew, l.Items[0].State)
	require.Nil(t, l.Items[0].AssignedTo)
	mustAPI(t, http.StatusOK, "GET", "/v1/incidents?company_id="+co.ID.String(), supervisor(), nil, &l)
	require.Equal(t, []string{inc.Number}, numbersOf(l))
	mustAPI(t, http.StatusOK, "GET", "/v1/requests?contact_id="+pat.ID.String()+"&state=open", supervisor(), nil, &l)
	require.Equal(t, []string{req.Number}, numbersOf(l))
	mustAPI(t, http.StatusOK, "GET", "/v1/incidents?company_id="+uuid.NewString(), supervisor(), nil, &l)
	require.Empty(t, l.Items)
	require.Equal(t, http.StatusUnprocessableEntity, do(t, "GET", "/v1/incidents?state=open", supervisor(), nil, nil), "open is a request state")

	path := "/v1/incidents/" + inc.Number
	// Kai neither opened nor holds it, and cannot read the walk-in.
	require.Equal(t, http.StatusForbidden, do(t, "PATCH", path, tokens[kai], map[string]any{"assigned_to": kai}, nil))
	// Bad changes name their field and change nothing.
	for field, body := range map[string]map[string]any{
		"state":       {"state": "bogus"},
		"assigned_to": {"assigned_to": "nobody-" + queue},
	} {
		var p struct{ Errors []struct{ Field string } }
		require.Equal(t, http.StatusUnprocessableEntity, do(t, "PATCH", path, tokens[jo], body, &p))
		require.Equal(t, field, p.Errors[0].Field)
	}
	require.Equal(t, http.StatusUnprocessableEntity, do(t, "PATCH", path, tokens[jo], map[string]any{}, nil))

	var d escalationDetail
	mustAPI(t, http.StatusOK, "PATCH", path, tokens[jo], map[string]any{"state": "in_progress", "assigned_to": jo}, &d)
	require.Equal(t, store.IncidentInProgress, d.State)
	require.Equal(t, jo, *d.AssignedTo)
	mustAPI(t, http.StatusOK, "PATCH", path, tokens[jo], map[string]any{"state": "in_progress"}, &d) // a retry
	require.Equal(t, []string{"opened:>new", "state:new>in_progress", "assignee:>" + jo}, whats(d), "the same change twice is one line")

	var note store.EscalationActivity
	require.Equal(t, http.StatusCreated, doKeyed(t, path+"/notes", tokens[jo], "n-1", map[string]any{"body": "Cleaned the rollers"}, &note))
	require.Equal(t, http.StatusCreated, doKeyed(t, path+"/notes", tokens[jo], "n-1", map[string]any{"body": "Cleaned the rollers"}, nil))
	require.Equal(t, http.StatusUnprocessableEntity, do(t, "POST", path+"/notes", tokens[jo], map[string]any{"body": " "}, nil))
	require.Equal(t, store.ActivityWorkNote, note.What)
	require.Equal(t, jo, note.Actor)

	// Jo holds it now: Kai may not take it over.
	require.Equal(t, http.StatusForbidden, do(t, "POST", path+"/notes", tokens[kai], map[string]any{"body": "mine?"}, nil))

	mustAPI(t, http.StatusOK, "PATCH", path, tokens[jo], map[string]any{"state": "resolved"}, nil)
	mustAPI(t, http.StatusOK, "PATCH", path, supervisor(), map[string]any{"state": "closed"}, nil)
	var conflict struct{ Errors []struct{ Field string } }
	require.Equal(t, http.StatusConflict, do(t, "PATCH", path, tokens[jo], map[string]any{"state": "in_progress"}, &conflict), "closed is final")
	require.Equal(t, "state", conflict.Errors[0].Field)

	mustAPI(t, http.StatusOK, "GET", path, tokens[jo], nil, &d)
	require.Equal(t, []string{"opened:>new", "state:new>in_progress", "assignee:>" + jo, "work_note:>",
		"state:in_progress>resolved", "state:resolved>closed"}, whats(d))
	require.Equal(t, "Cleaned the rollers", d.Activity[3].Body)

	// An agent's list: what it holds or opened; another agent's is 403.
	mustAPI(t, http.StatusOK, "GET", "/v1/incidents?assigned_to="+jo, tokens[jo], nil, &l)
	require.Contains(t, numbersOf(l), inc.Number)
	mustAPI(t, http.StatusOK, "GET", "/v1/incidents?contact_id="+pat.ID.String(), tokens[kai], nil, &l)
	require.Empty(t, l.Items, "Kai holds and opened none of Pat's incidents")
	require.Equal(t, http.StatusForbidden, do(t, "GET", "/v1/incidents?assigned_to="+jo, tokens[kai], nil, nil))

	// The request: taken by a supervisor for Kai, who completes it.
	mustAPI(t, http.StatusOK, "PATCH", "/v1/requests/"+req.Number, supervisor(), map[string]any{"assigned_to": kai}, nil)
	mustAPI(t, http.StatusOK, "PATCH", "/v1/requests/"+req.Number, tokens[kai], map[string]any{"state": "closed_complete"}, &d)
	require.Equal(t, store.RequestClosedComplete, d.State)
	require.Equal(t, []string{"opened:>open", "assignee:>" + kai, "state:open>closed_complete"}, whats(d))
}
