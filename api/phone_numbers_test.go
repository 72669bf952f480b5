package api_test

import (
	"fmt"
	"net/http"
	"net/url"
	"testing"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"github.com/casehub/casehub/api"
	"github.com/casehub/casehub/auth"
	"github.com/casehub/casehub/store"
)

// unassignedNumbers have the length and shape of real numbers (a length or
// E.164-pattern check lets each through) but no numbering plan gives them
// out: the phone package's own test proves both.
var unassignedNumbers = []string{
	"+1 099 555 0143", // a NANP area code never starts with 0
	"+10995550143",
	"(099) 555-0143",  // the same, national in the default region
	"+1 199 555 0143", // nor with 1
	"+1 202 055 0143", // nor an exchange
	"+44 1000 000000",
	"+7 000 000 00 00",
}

// A number that cannot exist is refused with a 422 naming the field
// wherever a number goes in, and nothing is written.
func TestUnassignedNumbersAreRefused(t *testing.T) {
	ctx := t.Context()
	tag := uuid.NewString()[:8]
	agent := "num-" + tag
	_, err := st.UpsertAgent(ctx, agent, agent, 3)
	require.NoError(t, err)
	queue := callbackQueue(t, `{}`)
	c := newClient(t, api.Deps{Temporal: newFakeTemporal()}).as(issue(t, auth.RoleSupervisor, ""))

	r := c.do(http.MethodPost, "/v1/contacts", map[string]any{"name": "Numbers " + tag,
		"communication_options": []any{map[string]any{"kind": "phone", "value": "+1 202 555 0143"}}})
	require.Equal(t, http.StatusCreated, r.Code, r.Body.String())
	var contact store.Contact
	r.decode(t, &contact)
	phoneOption := func(n string) []any { return []any{map[string]any{"kind": "phone", "value": n}} }

	entries := []struct {
		name, method, path string
		body               func(n string) any
		field              string
	}{
		{"new contact", "POST", "/v1/contacts", func(n string) any {
			return map[string]any{"name": "x", "communication_options": phoneOption(n)}
		}, "communication_options[0].value"},
		{"contact's options", "PATCH", "/v1/contacts/" + contact.ID.String(), func(n string) any {
			return map[string]any{"communication_options": phoneOption(n)}
		}, "communication_options[0].value"},
		{"added option", "POST", "/v1/contacts/" + contact.ID.String() + "/communication-options", func(n string) any {
			return map[string]any{"kind": "phone", "value": n}
		}, "value"},
		{"callback", "POST", "/v1/callbacks", func(n string) any {
			return map[string]any{"number": n, "queue": queue}
		}, "number"},
		{"click-to-call", "POST", "/v1/interactions/outbound", func(n string) any {
			return map[string]any{"to": n, "queue": queue, "agent_id": agent, "create_interaction": false}
		}, "to"},
		{"walk-in contact", "POST", "/v1/interactions", func(n string) any {
			return map[string]any{"channel": "walk_in", "contact_phone": n, "agent_id": agent, "short_description": "x"}
		}, "contact_phone"},
	}
	before := tableStates(t)
	for _, e := range entries {
		for _, n := range unassignedNumbers {
			t.Run(fmt.Sprintf("%s %s", e.name, n), func(t *testing.T) {
				r := c.do(e.method, e.path, e.body(n))
				require.Equal(t, http.StatusUnprocessableEntity, r.Code, r.Body.String())
				p := r.problem(t)
				require.Len(t, p.Errors, 1, "%+v", p)
				require.Equal(t, e.field, p.Errors[0].Field, "%+v", p)
			})
		}
	}
	for _, n := range unassignedNumbers {
		t.Run("callback batch "+n, func(t *testing.T) {
			r := c.do(http.MethodPost, "/v1/callbacks:batch", map[string]any{"items": []any{map[string]any{"number": n, "queue": queue}}})
			require.Equal(t, http.StatusOK, r.Code, r.Body.String())
			var out struct {
				Items []struct {
					Status  int          `json:"status"`
					Problem *api.Problem `json:"problem"`
				} `json:"items"`
			}
			r.decode(t, &out)
			require.Len(t, out.Items, 1)
			require.Equal(t, http.StatusUnprocessableEntity, out.Items[0].Status, r.Body.String())
			require.Equal(t, "number", out.Items[0].Problem.Errors[0].Field, r.Body.String())
		})
		t.Run("contact search "+n, func(t *testing.T) {
			r := c.do(http.MethodGet, "/v1/contacts?phone="+url.QueryEscape(n), nil)
			require.Equal(t, http.StatusUnprocessableEntity, r.Code, r.Body.String())
			require.Equal(t, "phone", r.problem(t).Errors[0].Field)
		})
	}
	require.Equal(t, before, tableStates(t), "a refused number was written")
}
