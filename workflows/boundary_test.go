package workflows_test

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"runtime"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/interceptor"
	sdkworker "go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	"github.com/casehub/casehub/activities"
	"github.com/casehub/casehub/worker"
	"github.com/casehub/casehub/workflows"
)

// A payload is whatever Temporal keeps in a process's history or hands
// between processes: workflow inputs and results, activity arguments and
// results, signal, update and query arguments and results. Their JSON is
// read back by every replay and by every process still running, so their
// types are casehub's own message types (packages workflows and
// activities), never PostgreSQL's rows: a JSON tag changed in store/ must
// not change what a history decodes to.

const module = "github.com/casehub/casehub/"

// protocolTypes are the struct types of other casehub packages a payload
// may hold: routing's signals to the processes (routing sends them, after
// its commit, and cannot import workflows) and the telephony platform's
// protocol (package cti: the platform's own wire format, which the
// platform's events and commands already pin).
var protocolTypes = map[string]func(name string) bool{
	module + "routing": func(name string) bool {
		return slices.Contains([]string{"OfferSignal", "ItemAssigned", "ItemFinished", "OfferTimedOut"}, name)
	},
	module + "cti": func(string) bool { return true },
}

// messageType reports whether a struct type may appear in a payload and,
// if so, whether its fields are payload too (to be walked).
func messageType(t reflect.Type) (ok, walk bool) {
	pkg := t.PkgPath()
	switch {
	case pkg == "": // an unnamed struct
		return true, true
	case pkg == module+"workflows" || pkg == module+"activities":
		return true, true
	case pkg == "github.com/google/uuid":
		return true, false
	case !strings.Contains(strings.Split(pkg, "/")[0], "."): // the standard library: time.Time
		return true, false
	}
	if allowed, ok := protocolTypes[pkg]; ok && allowed(t.Name()) {
		return true, true
	}
	return false, false
}

// payload is one type at the boundary and where it crosses.
type payload struct {
	where string // "activity ChangeCallback argument 1"
	typ   reflect.Type
}

// walkPayload calls bad for every struct type under t that is no message
// type, with the path of fields that leads to it, and visit for every
// message type it walks.
func walkPayload(t reflect.Type, path string, seen map[reflect.Type]bool, bad func(path string, t reflect.Type), visit func(reflect.Type)) {
	switch t.Kind() {
	case reflect.Pointer, reflect.Slice, reflect.Array:
		walkPayload(t.Elem(), path, seen, bad, visit)
		return
	case reflect.Map:
		walkPayload(t.Key(), path, seen, bad, visit)
		walkPayload(t.Elem(), path, seen, bad, visit)
		return
	case reflect.Struct:
	default:
		return
	}
	ok, walk := messageType(t)
	if !ok {
		bad(path, t)
		return
	}
	if !walk || seen[t] {
		return
	}
	seen[t] = true
	defer delete(seen, t) // another path to t is reported on its own
	visit(t)
	if path == "" {
		path = t.String()
	}
	for i := range t.NumField() {
		f := t.Field(i)
		if !f.IsExported() || f.Tag.Get("json") == "-" {
			continue
		}
		walkPayload(f.Type, path+"."+f.Name, seen, bad, visit)
	}
}

// noStateQuery are the processes that answer no queries (nobody waits on
// them): the routing sweeper and a retention run.
var noStateQuery = []string{"RoutingSweeper", "Retention"}

// boundary lists every payload type of every process casehub registers.
func boundary(t *testing.T) []payload {
	t.Helper()
	var reg registry
	acts := &activities.Activities{}
	worker.Register(&reg, acts)
	require.NotEmpty(t, reg.workflows)
	require.Equal(t, []any{acts}, reg.activities, "the activities are the methods of one *activities.Activities")

	var out []payload
	ctxType := reflect.TypeFor[workflow.Context]()
	for _, wf := range reg.workflows {
		ft := reflect.TypeOf(wf)
		name := funcName(wf)
		out = append(out, signature("workflow "+name, ft, ctxType)...)
		h := handlersOf(t, wf)
		if !slices.Contains(noStateQuery, name) {
			require.NotEmpty(t, h.queries, "workflow %s registered no state query here: did its setup refuse the test's input?", name)
		}
		for _, q := range h.queries {
			out = append(out, signature(fmt.Sprintf("workflow %s query %q", name, q.name), reflect.TypeOf(q.fn), ctxType)...)
		}
		for _, u := range h.updates {
			out = append(out, signature(fmt.Sprintf("workflow %s update %q", name, u.name), reflect.TypeOf(u.fn), ctxType)...)
			if u.validator != nil {
				out = append(out, signature(fmt.Sprintf("workflow %s update %q validator", name, u.name), reflect.TypeOf(u.validator), ctxType)...)
			}
		}
		signals := workflows.SignalPayloads()
		for _, s := range h.signals {
			_, listed := signals[s]
			require.True(t, listed, "workflow %s listens to signal %q, which workflows.SignalPayloads does not list", name, s)
		}
	}
	for _, name := range sortedKeys(workflows.SignalPayloads()) {
		if p := workflows.SignalPayloads()[name]; p != nil {
			out = append(out, payload{fmt.Sprintf("signal %q", name), reflect.TypeOf(p)})
		}
	}
	at := reflect.TypeOf(acts)
	for i := range at.NumMethod() {
		m := at.Method(i)
		ft := m.Type
		// Drop the receiver: the activity is the bound method.
		in := make([]reflect.Type, 0, ft.NumIn()-1)
		for j := 1; j < ft.NumIn(); j++ {
			in = append(in, ft.In(j))
		}
		outs := make([]reflect.Type, ft.NumOut())
		for j := range outs {
			outs[j] = ft.Out(j)
		}
		out = append(out, signature("activity "+m.Name, reflect.FuncOf(in, outs, false), reflect.TypeFor[context.Context]())...)
	}
	return out
}

// signature lists a function's arguments (after its context) and results
// (but its error).
func signature(where string, ft reflect.Type, ctx reflect.Type) []payload {
	var out []payload
	for i := range ft.NumIn() {
		in := ft.In(i)
		if i == 0 && in == ctx {
			continue
		}
		out = append(out, payload{fmt.Sprintf("%s argument %d", where, i), in})
	}
	errType := reflect.TypeFor[error]()
	for i := range ft.NumOut() {
		if ft.Out(i) != errType {
			out = append(out, payload{where + " result", ft.Out(i)})
		}
	}
	return out
}

// TestPayloadsAreMessageTypes walks every payload type and fails on any
// struct type of package store (or of any package but workflows,
// activities and the protocols above) it holds, naming the path to it and
// where it crosses.
func TestPayloadsAreMessageTypes(t *testing.T) {
	where := map[string][]string{} // "workflows.CaseProcessState.Contact: store.Contact" -> crossings
	var order []string
	for _, p := range boundary(t) {
		walkPayload(p.typ, "", map[reflect.Type]bool{}, func(path string, bad reflect.Type) {
			key := fmt.Sprintf("%s: %s", path, bad)
			if path == "" {
				key = fmt.Sprintf("%s: %s", p.where, bad)
			}
			if _, ok := where[key]; !ok {
				order = append(order, key)
			}
			if !slices.Contains(where[key], p.where) {
				where[key] = append(where[key], p.where)
			}
		}, func(reflect.Type) {})
	}
	var problems []string
	for _, key := range order {
		line := key
		if ws := where[key]; !strings.HasPrefix(key, ws[0]+": ") {
			line += " (in " + ws[0]
			if len(ws) > 1 {
				line += fmt.Sprintf(" and %d more", len(ws)-1)
			}
			line += ")"
		}
		problems = append(problems, line)
	}
	if len(problems) > 0 {
		t.Fatalf("payloads hold types that are not message types (give them their own in workflows/messages.go or activities/messages.go):\n%s",
			strings.Join(problems, "\n"))
	}
}

var updatePayloads = flag.Bool("update-payloads", false, "rewrite testdata/payloads.json from the message types as they are")

// TestPayloadJSON pins the JSON of every message type a payload holds
// (filled: strings hold their field's name, numbers 1, a fixed time) in
// testdata/payloads.json, so that a renamed field or a changed tag shows
// in review as a change of what histories hold. Processes already running
// and the recorded histories still have the old names: change one only
// with a way to read both, then rewrite the file with
// go test ./workflows/ -run TestPayloadJSON -update-payloads.
func TestPayloadJSON(t *testing.T) {
	shapes := map[string]json.RawMessage{}
	for _, p := range boundary(t) {
		walkPayload(p.typ, "", map[reflect.Type]bool{}, func(string, reflect.Type) {}, func(mt reflect.Type) {
			if _, done := shapes[mt.String()]; done || mt.Name() == "" {
				return
			}
			b, err := json.Marshal(filled(mt).Interface())
			require.NoError(t, err, mt.String())
			shapes[mt.String()] = b
		})
	}
	got, err := json.MarshalIndent(shapes, "", "  ")
	require.NoError(t, err)
	got = append(got, '\n')
	file := filepath.Join("testdata", "payloads.json")
	if *updatePayloads {
		require.NoError(t, os.WriteFile(file, got, 0o644))
	}
	want, err := os.ReadFile(file)
	require.NoError(t, err, "no %s: write it with -update-payloads", file)
	require.Equal(t, string(want), string(got),
		"the JSON of a payload type changed: histories and running processes hold the old one (see the test's comment)")
}

// ---- finding the handlers: each process runs until it has set them up ----

type handler struct {
	name          string
	fn, validator any
}

type handlers struct {
	queries, updates []handler
	signals          []string
}

// handlersOf runs workflow wf in a test environment until its setup has
// registered its handlers and opened its signal channels. Its activities
// are not registered: the process stops at the first one, or is
// cancelled.
func handlersOf(t *testing.T, wf any) *handlers {
	t.Helper()
	h := &handlers{}
	env := newSuite().NewTestWorkflowEnvironment()
	env.SetWorkerOptions(sdkworker.Options{Interceptors: []interceptor.WorkerInterceptor{&capture{h: h}}})
	env.SetTestTimeout(30 * time.Second)
	env.RegisterWorkflow(wf)
	env.RegisterDelayedCallback(env.CancelWorkflow, time.Minute)
	in := reflect.TypeOf(wf).In(1)
	env.ExecuteWorkflow(wf, filled(in).Interface())
	return h
}

type capture struct {
	interceptor.WorkerInterceptorBase
	h *handlers
}

func (c *capture) InterceptWorkflow(ctx workflow.Context, next interceptor.WorkflowInboundInterceptor) interceptor.WorkflowInboundInterceptor {
	return &captureInbound{WorkflowInboundInterceptorBase: interceptor.WorkflowInboundInterceptorBase{Next: next}, h: c.h}
}

type captureInbound struct {
	interceptor.WorkflowInboundInterceptorBase
	h *handlers
}

func (c *captureInbound) Init(outbound interceptor.WorkflowOutboundInterceptor) error {
	return c.Next.Init(&captureOutbound{WorkflowOutboundInterceptorBase: interceptor.WorkflowOutboundInterceptorBase{Next: outbound}, h: c.h})
}

type captureOutbound struct {
	interceptor.WorkflowOutboundInterceptorBase
	h *handlers
}

func (c *captureOutbound) SetQueryHandler(ctx workflow.Context, name string, fn any) error {
	c.h.queries = append(c.h.queries, handler{name: name, fn: fn})
	return c.Next.SetQueryHandler(ctx, name, fn)
}

func (c *captureOutbound) SetQueryHandlerWithOptions(ctx workflow.Context, name string, fn any, o workflow.QueryHandlerOptions) error {
	c.h.queries = append(c.h.queries, handler{name: name, fn: fn})
	return c.Next.SetQueryHandlerWithOptions(ctx, name, fn, o)
}

func (c *captureOutbound) SetUpdateHandler(ctx workflow.Context, name string, fn any, o workflow.UpdateHandlerOptions) error {
	c.h.updates = append(c.h.updates, handler{name: name, fn: fn, validator: o.Validator})
	return c.Next.SetUpdateHandler(ctx, name, fn, o)
}

func (c *captureOutbound) GetSignalChannel(ctx workflow.Context, name string) workflow.ReceiveChannel {
	c.h.signals = append(c.h.signals, name)
	return c.Next.GetSignalChannel(ctx, name)
}

func (c *captureOutbound) GetSignalChannelWithOptions(ctx workflow.Context, name string, o workflow.SignalChannelOptions) workflow.ReceiveChannel {
	c.h.signals = append(c.h.signals, name)
	return c.Next.GetSignalChannelWithOptions(ctx, name, o)
}

// registry records what worker.Register registers. (The embedded registry
// is nil: casehub registers no Nexus services.)
type registry struct {
	sdkworker.Registry
	workflows  []any
	activities []any
}

func (r *registry) RegisterWorkflow(w any) { r.workflows = append(r.workflows, w) }
func (r *registry) RegisterWorkflowWithOptions(w any, _ workflow.RegisterOptions) {
	r.workflows = append(r.workflows, w)
}
func (r *registry) RegisterDynamicWorkflow(w any, _ workflow.DynamicRegisterOptions) {
	r.workflows = append(r.workflows, w)
}
func (r *registry) RegisterActivity(a any) { r.activities = append(r.activities, a) }
func (r *registry) RegisterActivityWithOptions(a any, _ activity.RegisterOptions) {
	r.activities = append(r.activities, a)
}
func (r *registry) RegisterDynamicActivity(a any, _ activity.DynamicRegisterOptions) {
	r.activities = append(r.activities, a)
}

func funcName(f any) string {
	name := runtime.FuncForPC(reflect.ValueOf(f).Pointer()).Name()
	return name[strings.LastIndex(name, ".")+1:]
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// filled is a value of t with every field set: strings to the field's name,
// numbers to 1, one element in every slice and map, a fixed time.
func filled(t reflect.Type) reflect.Value {
	return fill(t, "", map[reflect.Type]bool{})
}

var (
	fixedTime = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	timeType  = reflect.TypeFor[time.Time]()
)

func fill(t reflect.Type, name string, seen map[reflect.Type]bool) reflect.Value {
	v := reflect.New(t).Elem()
	switch {
	case t == timeType:
		v.Set(reflect.ValueOf(fixedTime))
		return v
	case t.PkgPath() == "encoding/json" && t.Name() == "RawMessage":
		v.SetBytes([]byte(`{"raw":"message"}`))
		return v
	}
	switch t.Kind() {
	case reflect.String:
		if name == "" {
			name = t.Name()
		}
		v.SetString(name)
	case reflect.Bool:
		v.SetBool(true)
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		v.SetInt(1)
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		v.SetUint(1)
	case reflect.Float32, reflect.Float64:
		v.SetFloat(1.5)
	case reflect.Pointer:
		if seen[t.Elem()] {
			return v // a recursive type: stop here
		}
		p := reflect.New(t.Elem())
		p.Elem().Set(fill(t.Elem(), name, seen))
		v.Set(p)
	case reflect.Slice:
		if seen[t.Elem()] {
			return v
		}
		v.Set(reflect.Append(reflect.MakeSlice(t, 0, 1), fill(t.Elem(), name, seen)))
	case reflect.Array:
		for i := range t.Len() {
			v.Index(i).Set(fill(t.Elem(), name, seen))
		}
	case reflect.Map:
		m := reflect.MakeMap(t)
		m.SetMapIndex(fill(t.Key(), "key", seen), fill(t.Elem(), name, seen))
		v.Set(m)
	case reflect.Struct:
		seen[t] = true
		defer delete(seen, t)
		for i := range t.NumField() {
			f := t.Field(i)
			if f.IsExported() {
				v.Field(i).Set(fill(f.Type, f.Name, seen))
			}
		}
	}
	return v
}
