package api_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"github.com/casehub/casehub/api"
	"github.com/casehub/casehub/auth"
	"github.com/casehub/casehub/store"
)

func TestDirectoryThroughTheAPI(t *testing.T) {
	c := newClient(t, api.Deps{}).as(issue(t, auth.RoleSupervisor, ""))
	tag := uuid.NewString()[:8]

	r := c.do(http.MethodPost, "/v1/companies", map[string]any{"name": "Acme " + tag})
	require.Equal(t, http.StatusCreated, r.Code, r.Body.String())
	var co store.Company
	r.decode(t, &co)

	r = c.do(http.MethodPost, "/v1/companies", map[string]any{"name": "ACME " + strings.ToUpper(tag)})
	require.Equal(t, http.StatusConflict, r.Code)
	require.Equal(t, "name", r.problem(t).Errors[0].Field)

	r = c.do(http.MethodPost, "/v1/contacts", map[string]any{
		"name": "Ann " + tag, "company_id": co.ID,
		"communication_options": []map[string]any{
			{"kind": "phone", "value": "(202) 555-0143", "label": "mobile"},
			{"kind": "email", "value": "Ann." + tag + "@Example.com"},
		},
	})
	require.Equal(t, http.StatusCreated, r.Code, r.Body.String())
	var ann store.Contact
	r.decode(t, &ann)
	require.Equal(t, "+12025550143", ann.Phone(), "stored in E.164")
	require.Equal(t, "ann."+tag+"@example.com", ann.Email(), "stored lower-case")

	// Search by the number in another notation, by email, by company.
	for _, q := range []string{
		"/v1/contacts?phone=%2B1%20202%20555%200143&name=" + tag,
		"/v1/contacts?email=ANN." + tag + "@example.com",
		"/v1/contacts?company_id=" + co.ID.String(),
		"/v1/contacts?company=acme%20" + tag,
	} {
		r = c.do(http.MethodGet, q, nil)
		require.Equal(t, http.StatusOK, r.Code, q)
		var page struct{ Items []store.Contact }
		r.decode(t, &page)
		require.Len(t, page.Items, 1, q)
		require.Equal(t, ann.ID, page.Items[0].ID, q)
	}

	r = c.do(http.MethodPatch, "/v1/contacts/"+ann.ID.String(), map[string]any{"name": "Ann Lee", "company_id": nil})
	require.Equal(t, http.StatusOK, r.Code, r.Body.String())
	var patched store.Contact
	r.decode(t, &patched)
	require.Equal(t, "Ann Lee", patched.Name)
	require.Nil(t, patched.CompanyID)
	require.Len(t, patched.CommunicationOptions, 2, "options untouched when not sent")

	r = c.do(http.MethodPost, "/v1/contacts/"+ann.ID.String()+"/communication-options", map[string]any{"kind": "phone", "value": "+44 20 7946 0958"})
	require.Equal(t, http.StatusOK, r.Code, r.Body.String())
	r = c.do(http.MethodGet, "/v1/contacts/"+ann.ID.String(), nil)
	require.Equal(t, http.StatusOK, r.Code)
	var got store.Contact
	r.decode(t, &got)
	require.Len(t, got.CommunicationOptions, 3)
	require.Equal(t, "+442079460958", got.CommunicationOptions[2].Value)

	r = c.do(http.MethodPatch, "/v1/companies/"+co.ID.String(), map[string]any{"name": "Acme Corp " + tag})
	require.Equal(t, http.StatusOK, r.Code)
	r = c.do(http.MethodGet, "/v1/companies?name=corp%20"+tag, nil)
	require.Equal(t, http.StatusOK, r.Code)
	require.Contains(t, r.Body.String(), co.ID.String())
}

func TestDirectoryPaging(t *testing.T) {
	c := newClient(t, api.Deps{}).as(issue(t, auth.RoleAgent, "agent-1"))
	tag := uuid.NewString()[:8]
	for i := range 3 {
		r := c.do(http.MethodPost, "/v1/contacts", map[string]any{"name": "Pager " + tag + " " + string(rune('a'+i))})
		require.Equal(t, http.StatusCreated, r.Code)
	}
	var page struct {
		Items      []store.Contact
		NextOffset *int `json:"next_offset"`
	}
	c.do(http.MethodGet, "/v1/contacts?name="+tag+"&limit=2", nil).decode(t, &page)
	require.Len(t, page.Items, 2)
	require.NotNil(t, page.NextOffset)
	require.Equal(t, 2, *page.NextOffset)
	page.NextOffset = nil
	c.do(http.MethodGet, "/v1/contacts?name="+tag+"&limit=2&offset=2", nil).decode(t, &page)
	require.Len(t, page.Items, 1)
	require.Nil(t, page.NextOffset)
}

func TestBadInputIsNamedAndChangesNothing(t *testing.T) {
	c := newClient(t, api.Deps{}).as(issue(t, auth.RoleSupervisor, ""))
	missing := uuid.NewString()
	tests := []struct {
		name, method, path string
		body               any
		status             int
		field              string
	}{
		{"malformed JSON", "POST", "/v1/contacts", `{"name":`, 400, ""},
		{"not an object", "POST", "/v1/contacts", `[1,2]`, 400, ""},
		{"two values", "POST", "/v1/contacts", `{"name":"a"} {"name":"b"}`, 400, ""},
		{"empty body", "POST", "/v1/contacts", ``, 400, ""},
		{"missing name", "POST", "/v1/contacts", map[string]any{}, 422, "name"},
		{"unknown field", "POST", "/v1/contacts", map[string]any{"name": "x", "nickname": "y"}, 422, "nickname"},
		{"wrong type", "POST", "/v1/contacts", map[string]any{"name": 42}, 422, "name"},
		{"bad company id", "POST", "/v1/contacts", map[string]any{"name": "x", "company_id": "nope"}, 422, "company_id"},
		{"unknown company", "POST", "/v1/contacts", map[string]any{"name": "x", "company_id": missing}, 422, "company_id"},
		{"bad kind", "POST", "/v1/contacts", map[string]any{"name": "x", "communication_options": []any{map[string]any{"kind": "fax", "value": "1"}}}, 422, "communication_options[0].kind"},
		{"bad phone", "POST", "/v1/contacts", map[string]any{"name": "x", "communication_options": []any{map[string]any{"kind": "phone", "value": "12"}}}, 422, "communication_options[0].value"},
		{"bad email", "POST", "/v1/contacts", map[string]any{"name": "x", "communication_options": []any{map[string]any{"kind": "email", "value": "a@"}}}, 422, "communication_options[0].value"},
		{"name too long", "POST", "/v1/companies", map[string]any{"name": strings.Repeat("n", 201)}, 422, "name"},
		{"patch empty name", "PATCH", "/v1/contacts/" + missing, map[string]any{"name": ""}, 422, "name"},
		{"patch unknown contact", "PATCH", "/v1/contacts/" + missing, map[string]any{"name": "z"}, 404, ""},
		{"unknown contact", "GET", "/v1/contacts/" + missing, nil, 404, ""},
		{"not a uuid", "GET", "/v1/contacts/42", nil, 404, ""},
		{"unknown company", "GET", "/v1/companies/" + missing, nil, 404, ""},
		{"bad limit", "GET", "/v1/contacts?limit=0", nil, 422, "limit"},
		{"bad offset", "GET", "/v1/contacts?offset=-1", nil, 422, "offset"},
		{"bad phone filter", "GET", "/v1/contacts?phone=abc", nil, 422, "phone"},
		{"unknown route", "GET", "/v1/nothing-here", nil, 404, ""},
		{"wrong method", "DELETE", "/v1/contacts", nil, 405, ""},
	}
	before, err := st.SearchContacts(t.Context(), store.ContactQuery{Name: "x", Limit: 1000})
	require.NoError(t, err)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := c.do(tt.method, tt.path, tt.body)
			require.Equal(t, tt.status, r.Code, r.Body.String())
			p := r.problem(t)
			require.NotEmpty(t, p.Detail)
			if tt.field != "" {
				require.NotEmpty(t, p.Errors)
				require.Equal(t, tt.field, p.Errors[0].Field)
			}
		})
	}
	after, err := st.SearchContacts(t.Context(), store.ContactQuery{Name: "x", Limit: 1000})
	require.NoError(t, err)
	require.Equal(t, len(before), len(after), "no bad request wrote a contact")
}

func TestBodyLimit(t *testing.T) {
	c := newClient(t, api.Deps{BodyLimit: "1K"}).as(issue(t, auth.RoleSupervisor, ""))
	r := c.do(http.MethodPost, "/v1/companies", `{"name":"`+strings.Repeat("a", 2000)+`"}`)
	require.Equal(t, http.StatusRequestEntityTooLarge, r.Code)
	r.problem(t)
}
