package api_test

import (
	"context"
	"net/http"
	"testing"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"github.com/casehub/casehub/api"
	"github.com/casehub/casehub/auth"
	"github.com/casehub/casehub/store"
	"github.com/casehub/casehub/workflows"
)

func TestCasesThroughTheAPI(t *testing.T) {
	ctx := context.Background()
	c := newClient(t, api.Deps{})
	agent := c.as(issue(t, auth.RoleAgent, "agent-cases"))
	integration := c.as(issue(t, auth.RoleIntegration, ""))

	co, err := st.CreateCompany(ctx, "Vandelay "+uuid.NewString()[:8])
	require.NoError(t, err)
	ct, err := st.CreateContact(ctx, store.NewContact{Name: "Art " + uuid.NewString()[:8], CompanyID: &co.ID})
	require.NoError(t, err)
	first, err := st.CreateCase(ctx, store.NewCase{Subject: "Latex order late", ContactID: ct.ID, InteractionID: "ix-api-1"})
	require.NoError(t, err)
	second, err := st.CreateCase(ctx, store.NewCase{Subject: "Invoice", Priority: store.PriorityCritical, ContactID: ct.ID})
	require.NoError(t, err)
	_, err = st.RecordConsultation(ctx, store.NewConsultation{ID: uuid.New(), CaseNumber: first.Number,
		InteractionID: "ix-api-2", AgentID: "agent-cases", Note: "Shipped today"})
	require.NoError(t, err)

	// Any role reads a case, with its interactions and consultations.
	r := integration.do(http.MethodGet, "/v1/cases/"+first.Number, nil)
	require.Equal(t, http.StatusOK, r.Code, r.Body.String())
	var got store.CaseDetail
	r.decode(t, &got)
	require.Equal(t, first.Number, got.Number)
	require.Equal(t, co.Name, *got.CompanyName, "the contact's company")
	require.Equal(t, ct.Name, got.ContactName)
	require.Len(t, got.Interactions, 2)
	require.Equal(t, store.RelationCreatedFrom, got.Interactions[0].Relation)
	require.Equal(t, store.RelationConsulted, got.Interactions[1].Relation)
	require.Len(t, got.Consultations, 1)
	require.Equal(t, "Shipped today", got.Consultations[0].Note)

	// The number reads in any letter case.
	r = agent.do(http.MethodGet, "/v1/cases/cs-"+first.Number[3:], nil)
	require.Equal(t, http.StatusOK, r.Code)

	// The contact's cases, newest first, paged.
	r = agent.do(http.MethodGet, "/v1/cases?contact_id="+ct.ID.String()+"&limit=1", nil)
	require.Equal(t, http.StatusOK, r.Code, r.Body.String())
	var page struct {
		Items      []store.Case
		NextOffset *int `json:"next_offset"`
	}
	r.decode(t, &page)
	require.Len(t, page.Items, 1)
	require.Equal(t, second.Number, page.Items[0].Number)
	require.NotNil(t, page.NextOffset)
	r = agent.do(http.MethodGet, "/v1/cases?contact_id="+ct.ID.String()+"&limit=1&offset=1", nil)
	r.decode(t, &page)
	require.Equal(t, first.Number, page.Items[0].Number)
	require.Nil(t, page.NextOffset)

	// Status: an allowed move, then a refused one.
	r = agent.do(http.MethodPost, "/v1/cases/"+first.Number+"/status", map[string]any{"status": "resolved", "reason": "shipped"})
	require.Equal(t, http.StatusOK, r.Code, r.Body.String())
	var moved store.Case
	r.decode(t, &moved)
	require.Equal(t, store.CaseResolved, moved.Status)
	require.Equal(t, "shipped", moved.StatusReason)

	r = agent.do(http.MethodGet, "/v1/cases?contact_id="+ct.ID.String()+"&status=resolved", nil)
	require.Equal(t, http.StatusOK, r.Code)
	r.decode(t, &page)
	require.Len(t, page.Items, 1)
	require.Equal(t, first.Number, page.Items[0].Number)

	r = agent.do(http.MethodPost, "/v1/cases/"+first.Number+"/status", map[string]any{"status": "closed"})
	require.Equal(t, http.StatusOK, r.Code, r.Body.String())
	r = agent.do(http.MethodPost, "/v1/cases/"+first.Number+"/status", map[string]any{"status": "in_progress"})
	require.Equal(t, http.StatusConflict, r.Code, r.Body.String())
	p := r.problem(t)
	require.Equal(t, "status", p.Errors[0].Field)
	require.Contains(t, p.Detail, "closed")
}

func TestCasesRefuseWhatTheyShould(t *testing.T) {
	ctx := context.Background()
	c := newClient(t, api.Deps{})
	supervisor := c.as(issue(t, auth.RoleSupervisor, ""))
	integration := c.as(issue(t, auth.RoleIntegration, ""))
	ct, err := st.CreateContact(ctx, store.NewContact{Name: "Bea " + uuid.NewString()[:8]})
	require.NoError(t, err)
	k, err := st.CreateCase(ctx, store.NewCase{Subject: "Refund", ContactID: ct.ID})
	require.NoError(t, err)

	tests := []struct {
		name   string
		client *client
		method string
		path   string
		body   any
		status int
		field  string
	}{
		{"no token", c, http.MethodGet, "/v1/cases/" + k.Number, nil, http.StatusUnauthorized, ""},
		{"no token to list", c, http.MethodGet, "/v1/cases", nil, http.StatusUnauthorized, ""},
		{"unknown case", supervisor, http.MethodGet, "/v1/cases/CS-000000", nil, http.StatusNotFound, ""},
		{"bad contact id", supervisor, http.MethodGet, "/v1/cases?contact_id=nope", nil, http.StatusUnprocessableEntity, "contact_id"},
		{"bad status filter", supervisor, http.MethodGet, "/v1/cases?status=open", nil, http.StatusUnprocessableEntity, "status"},
		{"bad limit", supervisor, http.MethodGet, "/v1/cases?limit=0", nil, http.StatusUnprocessableEntity, "limit"},
		{"integration may not change status", integration, http.MethodPost, "/v1/cases/" + k.Number + "/status",
			map[string]any{"status": "closed"}, http.StatusForbidden, ""},
		{"unknown status", supervisor, http.MethodPost, "/v1/cases/" + k.Number + "/status",
			map[string]any{"status": "reopened"}, http.StatusUnprocessableEntity, "status"},
		{"status missing", supervisor, http.MethodPost, "/v1/cases/" + k.Number + "/status",
			map[string]any{"reason": "x"}, http.StatusUnprocessableEntity, "status"},
		{"unknown field", supervisor, http.MethodPost, "/v1/cases/" + k.Number + "/status",
			map[string]any{"status": "closed", "by": "me"}, http.StatusUnprocessableEntity, "by"},
		{"same status again", supervisor, http.MethodPost, "/v1/cases/" + k.Number + "/status",
			map[string]any{"status": "new"}, http.StatusConflict, "status"},
		{"status of an unknown case", supervisor, http.MethodPost, "/v1/cases/CS-000000/status",
			map[string]any{"status": "closed"}, http.StatusNotFound, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := tt.client.do(tt.method, tt.path, tt.body)
			require.Equal(t, tt.status, r.Code, r.Body.String())
			p := r.problem(t)
			if tt.field != "" {
				require.Equal(t, tt.field, p.Errors[0].Field)
			}
		})
	}

	// Nothing above changed the case.
	d, err := st.GetCase(ctx, k.Number)
	require.NoError(t, err)
	require.Equal(t, store.CaseNew, d.Status)
}

// The process routes need Temporal (the end-to-end tests drive them); what
// they decide before asking it is checked here.
func TestProcessRoutesGuardBeforeAskingTemporal(t *testing.T) {
	c := newClient(t, api.Deps{})
	id := workflows.CaseProcessWorkflowID("ix-guard", workflows.CaseProcessAddNewCase)

	r := c.do(http.MethodGet, "/v1/processes/"+id, nil)
	require.Equal(t, http.StatusUnauthorized, r.Code)
	r = c.as(issue(t, auth.RoleIntegration, "")).do(http.MethodPost, "/v1/processes/"+id+"/cancel", nil)
	require.Equal(t, http.StatusForbidden, r.Code)
	r.problem(t)

	agent := c.as(issue(t, auth.RoleAgent, "agent-guard"))
	r = agent.do(http.MethodGet, "/v1/processes/agent-agent-guard", nil)
	require.Equal(t, http.StatusNotFound, r.Code, "only case processes are reachable here")
	r.problem(t)
	r = agent.do(http.MethodPost, "/v1/processes/"+id+"/choose-contact", map[string]any{"contact_id": "not-a-uuid"})
	require.Equal(t, http.StatusUnprocessableEntity, r.Code)
	require.Equal(t, "contact_id", r.problem(t).Errors[0].Field)
	r = agent.do(http.MethodPost, "/v1/processes/"+id+"/submit-case", map[string]any{"subject": "x", "priority": "urgent"})
	require.Equal(t, http.StatusUnprocessableEntity, r.Code)
	require.Equal(t, "priority", r.problem(t).Errors[0].Field)
	r = agent.do(http.MethodPost, "/v1/processes/"+id+"/submit-case", nil)
	require.Equal(t, http.StatusBadRequest, r.Code, "a step with fields needs a body")
}
