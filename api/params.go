package api

import (
	"fmt"
	"net/url"
	"strings"
	"sync"
	"unicode/utf8"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/labstack/echo/v4"
)

// Bounds on parameter values, in characters, for parameters whose schema in
// openapi.yaml sets no maxLength. Every id and name a path carries is far
// shorter; a query filter is a name, a number or a date.
const (
	maxPathParam  = 200
	maxQueryParam = 1000
)

// paramRules is what openapi.yaml says about one route's parameters.
type paramRules struct {
	path  map[string]int // path parameter -> longest value
	query map[string]queryRule
}

type queryRule struct {
	max    int
	repeat bool // an array parameter may be given more than once
}

// spec is the embedded openapi.yaml, loaded once.
var spec = sync.OnceValues(func() (*openapi3.T, error) {
	doc, err := openapi3.NewLoader().LoadFromData(OpenAPI)
	if err != nil {
		return nil, fmt.Errorf("load openapi.yaml: %w", err)
	}
	return doc, nil
})

// paramChecks reads, for every route e serves, its parameters from
// openapi.yaml. A route the document does not describe (or a path parameter
// it does not name) is an error: the document is the one list of what each
// route accepts.
func paramChecks(e *echo.Echo) (map[string]paramRules, error) {
	doc, err := spec()
	if err != nil {
		return nil, err
	}
	out := map[string]paramRules{}
	for _, r := range e.Routes() {
		if r.Method == echo.RouteNotFound || strings.HasSuffix(r.Path, "/*") {
			continue // Echo's catch-alls
		}
		item := doc.Paths.Value(openAPIPath(r.Path))
		if item == nil || item.GetOperation(r.Method) == nil {
			return nil, fmt.Errorf("route %s %s is not in openapi.yaml", r.Method, openAPIPath(r.Path))
		}
		params := append(openapi3.Parameters{}, item.Parameters...)
		params = append(params, item.GetOperation(r.Method).Parameters...)
		rules := paramRules{path: map[string]int{}, query: map[string]queryRule{}}
		for _, ref := range params {
			p := ref.Value
			if p == nil {
				continue
			}
			switch p.In {
			case openapi3.ParameterInPath:
				rules.path[p.Name] = maxLength(p, maxPathParam)
			case openapi3.ParameterInQuery:
				array := p.Schema != nil && p.Schema.Value != nil && p.Schema.Value.Type.Is("array")
				rules.query[p.Name] = queryRule{max: maxLength(p, maxQueryParam), repeat: array}
			}
		}
		for _, seg := range strings.Split(strings.ReplaceAll(r.Path, `\:`, ""), "/") {
			if name, ok := strings.CutPrefix(seg, ":"); ok {
				if _, documented := rules.path[name]; !documented {
					return nil, fmt.Errorf("route %s %s: path parameter %s is not in openapi.yaml", r.Method, r.Path, name)
				}
			}
		}
		out[r.Method+" "+r.Path] = rules
	}
	return out, nil
}

func maxLength(p *openapi3.Parameter, fallback int) int {
	if p.Schema != nil && p.Schema.Value != nil && p.Schema.Value.MaxLength != nil {
		return int(*p.Schema.Value.MaxLength)
	}
	return fallback
}

// openAPIPath writes an Echo route path (":name", "\:" for a literal colon)
// as openapi.yaml does ("{name}").
func openAPIPath(p string) string {
	p = strings.ReplaceAll(p, `\:`, "\x00")
	parts := strings.Split(p, "/")
	for i, s := range parts {
		if name, ok := strings.CutPrefix(s, ":"); ok {
			parts[i] = "{" + name + "}"
		}
	}
	return strings.ReplaceAll(strings.Join(parts, "/"), "\x00", ":")
}

// checkParams refuses, before any handler (or the token check) sees the
// request, a path or query parameter that no handler could use: a query
// parameter the route does not document or gives twice, and a value
// holding U+0000 (PostgreSQL cannot store it), invalid UTF-8, or more
// characters than its bound. Each is a 422 naming the parameter, like a bad
// body field.
func checkParams(routes map[string]paramRules) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			rules, ok := routes[c.Request().Method+" "+c.Path()]
			if !ok {
				return next(c) // no such route: Echo answers 404 or 405
			}
			var fields []FieldProblem
			values := c.ParamValues()
			for i, name := range c.ParamNames() {
				if i < len(values) {
					fields = append(fields, checkPathValue(name, values[i], rules.path[name])...)
				}
			}
			fields = append(fields, rules.checkQuery(c.Request().URL.RawQuery)...)
			if len(fields) > 0 {
				return invalid(fields...)
			}
			return next(c)
		}
	}
}

// checkPathValue checks a path parameter as the handler gets it and, when
// Echo routed on the escaped path (the request escaped a "/", say), as it
// reads once unescaped: the request's decoded path is stored with its
// idempotency key.
func checkPathValue(name, v string, max int) []FieldProblem {
	if p := checkValue(name, v, max); p != nil {
		return []FieldProblem{*p}
	}
	if strings.Contains(v, "%") {
		if u, err := url.PathUnescape(v); err == nil {
			if p := checkValue(name, u, max); p != nil {
				return []FieldProblem{*p}
			}
		}
	}
	return nil
}

func checkValue(name, v string, max int) *FieldProblem {
	switch {
	case strings.IndexByte(v, 0) >= 0:
		return &FieldProblem{Field: name, Detail: "must not contain the character U+0000"}
	case !utf8.ValidString(v):
		return &FieldProblem{Field: name, Detail: "must be valid UTF-8"}
	case utf8.RuneCountInString(v) > max:
		return &FieldProblem{Field: name, Detail: fmt.Sprintf("must be at most %d characters", max)}
	}
	return nil
}

// checkQuery reads the query string pair by pair, as url.ParseQuery does,
// but refuses what that parser (and so Echo's QueryParam) would drop
// without a word: a bad escape, a ";" separator.
func (r paramRules) checkQuery(raw string) []FieldProblem {
	var fields []FieldProblem
	seen := map[string]int{}
	var order []string
	for pair := range strings.SplitSeq(raw, "&") {
		if pair == "" {
			continue
		}
		rawName, rawValue, _ := strings.Cut(pair, "=")
		name, err := url.QueryUnescape(rawName)
		if err != nil {
			fields = append(fields, FieldProblem{Field: shown(rawName), Detail: "is not a known parameter (its name is not valid percent-encoding)"})
			continue
		}
		if name == "" {
			fields = append(fields, FieldProblem{Field: "query", Detail: "has a parameter with an empty name"})
			continue
		}
		rule, known := r.query[name]
		if !known {
			if seen[name] == 0 {
				fields = append(fields, FieldProblem{Field: shown(name), Detail: "is not a known parameter"})
			}
			seen[name]++
			continue
		}
		if seen[name]++; seen[name] == 2 && !rule.repeat {
			order = append(order, name)
		}
		value, err := url.QueryUnescape(rawValue)
		switch {
		case strings.Contains(pair, ";"):
			fields = append(fields, FieldProblem{Field: name, Detail: `must not contain ";" (separate parameters with "&", escape it as %3B)`})
		case err != nil:
			fields = append(fields, FieldProblem{Field: name, Detail: "must be valid percent-encoding"})
		default:
			if p := checkValue(name, value, rule.max); p != nil {
				fields = append(fields, *p)
			}
		}
	}
	for _, name := range order {
		fields = append(fields, FieldProblem{Field: name, Detail: "must be given at most once"})
	}
	return fields
}

// shown is a parameter name fit to echo back in a problem: valid UTF-8 and
// no longer than 100 bytes.
func shown(name string) string {
	name = strings.ToValidUTF8(name, "\uFFFD")
	if len(name) <= 100 {
		return name
	}
	cut := 100
	for cut > 0 && !utf8.RuneStart(name[cut]) {
		cut--
	}
	return name[:cut] + "…"
}
