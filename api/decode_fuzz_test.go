package api_test

import (
	"context"
	"log/slog"
	"net/http"
	"net/url"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/casehub/casehub/api"
	"github.com/casehub/casehub/auth"
)

// fuzzClient is one server and a supervisor token for every input of a fuzz
// target; each input gets a client bound to its own *testing.T.
func fuzzClient(f *testing.F) func(t *testing.T) *client {
	token, _, err := auth.Issue(context.Background(), st, auth.RoleSupervisor, "", "fuzz")
	require.NoError(f, err)
	e := api.NewServer(api.Deps{Store: st, Logger: slog.New(slog.DiscardHandler)})
	return func(t *testing.T) *client { return &client{t: t, e: e, token: token} }
}

// tableState is what a failed request must leave as it was: the row count
// and an md5 over every row of the table.
func tableState(t *testing.T, table string) string {
	t.Helper()
	var s string
	require.NoError(t, st.DB().Get(&s, `SELECT count(*)::text || ':' || coalesce(md5(string_agg(t::text, ',' ORDER BY t::text)), '')
		FROM `+table+` t`))
	return s
}

// requireRefusedOrDone: the answer is want, or a 4xx problem that changed
// none of tables; never a 5xx.
func requireRefusedOrDone(t *testing.T, r response, want int, before map[string]string) {
	t.Helper()
	if r.Code == want {
		return
	}
	require.True(t, r.Code >= 400 && r.Code < 500, "answered %d: %s", r.Code, r.Body.String())
	p := r.problem(t)
	if r.Code == http.StatusUnprocessableEntity {
		require.NotEmpty(t, p.Errors, "a 422 names the field: %s", r.Body.String())
		require.NotEmpty(t, p.Errors[0].Field, r.Body.String())
	}
	for table, was := range before {
		require.Equal(t, was, tableState(t, table), "a refused request changed %s", table)
	}
}

// FuzzCreateContactBody posts any body to POST /v1/contacts.
func FuzzCreateContactBody(f *testing.F) {
	for _, body := range []string{
		`{"name":"Ann Lee","communication_options":[{"kind":"phone","value":"(202) 555-0143","label":"mobile"},{"kind":"email","value":"Ann@Example.com"}]}`,
		`{"name":"Bob","company_id":"00000000-0000-0000-0000-000000000000"}`,
		`{"name":"Cy","company_id":"not-a-uuid"}`,
		`{"name":"Di","communication_options":[{"kind":"fax","value":"1"}]}`,
		`{"name":"Ed","communication_options":[{"kind":"phone","value":"call me"}]}`,
		`{"name":"Fay","communication_options":[{"kind":"email","value":"Fay <fay@example.com>"}]}`,
		`{"name":"Gus","communication_options":[{"kind":"phone","value":"+12025550143"},{"kind":"phone","value":"(202) 555-0143"}]}`,
		`{"name":"   "}`, `{"name":"Hal\u0000"}`, `{"nam":"x"}`, `{"name":1}`, `{"name":"a"} {}`, `[]`, `null`, ``, `{`,
	} {
		f.Add([]byte(body))
	}
	newClient := fuzzClient(f)
	f.Fuzz(func(t *testing.T, body []byte) {
		c := newClient(t)
		before := map[string]string{"contacts": tableState(t, "contacts"), "contact_communication_options": tableState(t, "contact_communication_options")}
		r := c.do(http.MethodPost, "/v1/contacts", string(body))
		requireRefusedOrDone(t, r, http.StatusCreated, before)
	})
}

// FuzzPutQueueBody puts any body under any name to PUT /v1/queues/{name}.
func FuzzPutQueueBody(f *testing.F) {
	for _, s := range []struct{ name, body string }{
		{"support", `{"description":"Front line","acceptance_timeout_seconds":20,"wrapup_timeout_seconds":0,"on_reject":"close","outbound_number":"+12025550199","settings":{"callbacks":{"enabled":true}}}`},
		{"sales", `{}`},
		{"Sales", `{}`},
		{"-x", `{}`},
		{"q", `{"acceptance_timeout_seconds":0}`},
		{"q", `{"acceptance_timeout_seconds":1.5}`},
		{"q", `{"wrapup_timeout_seconds":86401}`},
		{"q", `{"on_reject":"drop"}`},
		{"q", `{"outbound_number":"202-555-0199"}`},
		{"q", `{"settings":[]}`},
		{"q", `{"settings":null}`},
		{"q", `{"settings":{"a":"\u0000"}}`},
		{"q", `{"description":"\u0000"}`},
		{"q", `{"description":null}`},
		{"q", `not json`},
	} {
		f.Add(s.name, []byte(s.body))
	}
	newClient := fuzzClient(f)
	f.Fuzz(func(t *testing.T, name string, body []byte) {
		c := newClient(t)
		before := map[string]string{"queues": tableState(t, "queues")}
		r := c.do(http.MethodPut, "/v1/queues/"+url.PathEscape(name), string(body))
		if r.Code == http.StatusNotFound || r.Code == http.StatusMethodNotAllowed {
			// A name that is no path segment (empty, or "." and "..") is no
			// such route; Echo answers it as such.
			require.Contains(t, []string{"", ".", ".."}, name, r.Body.String())
		}
		requireRefusedOrDone(t, r, http.StatusOK, before)
	})
}
