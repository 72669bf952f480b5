package api

import (
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/labstack/echo/v4"
	"github.com/stretchr/testify/require"
)

// A served route openapi.yaml does not describe stops the server at its
// start: the document is the one list of each route's parameters.
func TestParamChecksNeedEveryRouteInTheSpec(t *testing.T) {
	ok := func(echo.Context) error { return nil }
	for _, tc := range []struct{ name, method, path, want string }{
		{"undocumented route", "GET", "/v1/nowhere", "GET /v1/nowhere is not in openapi.yaml"},
		{"undocumented method", "DELETE", "/v1/contacts", "DELETE /v1/contacts is not in openapi.yaml"},
		{"path parameter under another name", "GET", "/v1/queues/:queue", "GET /v1/queues/{queue} is not in openapi.yaml"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := echo.New()
			e.GET("/v1/contacts", ok)
			e.Add(tc.method, tc.path, ok)
			_, err := paramChecks(e)
			require.ErrorContains(t, err, tc.want)
		})
	}

	e := echo.New()
	e.POST(`/v1/callbacks\:batch`, ok)
	e.GET("/v1/queues/:name/members/:agent_id", ok) // PUT and DELETE only
	_, err := paramChecks(e)
	require.ErrorContains(t, err, "GET /v1/queues/{name}/members/{agent_id} is not in openapi.yaml")

	e = echo.New()
	e.POST(`/v1/callbacks\:batch`, ok)
	e.POST("/v1/callbacks/batch", ok)
	e.GET("/v1/contacts", ok)
	rules, err := paramChecks(e)
	require.NoError(t, err)
	require.Contains(t, rules, `POST /v1/callbacks\:batch`)
	require.Contains(t, rules, "POST /v1/callbacks/batch")
	require.Equal(t, queryRule{max: maxQueryParam}, rules["GET /v1/contacts"].query["phone"])
}

// A parameter's own maxLength in the document overrides the default bound.
func TestParamMaxLengthFromSpec(t *testing.T) {
	n := uint64(12)
	p := &openapi3.Parameter{Schema: &openapi3.SchemaRef{Value: &openapi3.Schema{MaxLength: &n}}}
	require.Equal(t, 12, maxLength(p, maxPathParam))
	require.Equal(t, maxPathParam, maxLength(&openapi3.Parameter{}, maxPathParam))
}
