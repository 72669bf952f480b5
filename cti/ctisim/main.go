package ctisim

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// Environment variables read by Main.
const (
	EnvAddr           = "CASEHUB_CTI_SIM_ADDR"
	EnvEventsURL      = "CASEHUB_CTI_EVENTS_URL"
	EnvSecret         = "CASEHUB_CTI_WEBHOOK_SECRET"
	EnvToken          = "CASEHUB_CTI_SIM_TOKEN"
	EnvAPIKey         = "CASEHUB_CTI_API_KEY"
	EnvScripts        = "CASEHUB_CTI_SIM_SCRIPTS" // comma-separated NUMBER=OUTCOME list
	EnvDefaultOutcome = "CASEHUB_CTI_SIM_DEFAULT_OUTCOME"
	EnvSimURL         = "CASEHUB_CTI_SIM_URL" // where the client subcommands find the simulator
)

// Defaults used by Main.
const (
	DefaultAddr      = "127.0.0.1:8090"
	DefaultEventsURL = "http://127.0.0.1:8080/v1/cti/events"
	DefaultSecret    = "dev-cti-secret"
	DefaultSimURL    = "http://127.0.0.1:8090"
)

const usage = `usage: casehub cti-sim [serve] [flags]     run the simulator
       casehub cti-sim call --from NUMBER --to NUMBER --queue QUEUE [--ivr KEY=VALUE]... [--case CASE] [--via-ivr] [--sim URL]
       casehub cti-sim chat --email EMAIL [--name NAME] --queue QUEUE [--text TEXT] [--sim URL]
       casehub cti-sim hangup CALL_ID [--sim URL]

Run "casehub cti-sim SUBCOMMAND -h" for the flags of a subcommand.
`

// Main is the entry point of "casehub cti-sim". args are the arguments after
// "cti-sim"; getenv supplies environment fallbacks for flags. The serve
// subcommand (the default) runs until ctx is cancelled.
func Main(ctx context.Context, args []string, getenv func(string) string, stdout io.Writer) error {
	if getenv == nil {
		getenv = func(string) string { return "" }
	}
	sub, rest := "serve", args
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		sub, rest = args[0], args[1:]
	}
	switch sub {
	case "serve":
		return serve(ctx, rest, getenv, stdout)
	case "call":
		return clientCall(ctx, rest, getenv, stdout)
	case "chat":
		return clientChat(ctx, rest, getenv, stdout)
	case "hangup":
		return clientHangUp(ctx, rest, getenv, stdout)
	case "help":
		_, err := io.WriteString(stdout, usage)
		return err
	default:
		return fmt.Errorf("cti-sim: unknown subcommand %q\n%s", sub, usage)
	}
}

func envOr(getenv func(string) string, name, def string) string {
	if v := getenv(name); v != "" {
		return v
	}
	return def
}

// multiFlag collects a repeatable string flag.
type multiFlag []string

func (m *multiFlag) String() string     { return strings.Join(*m, ",") }
func (m *multiFlag) Set(v string) error { *m = append(*m, v); return nil }

// parse parses flags that may follow positional arguments
// ("hangup CALL_ID --sim URL") and returns the positional arguments. It
// returns flag.ErrHelp when help was requested.
func parse(fs *flag.FlagSet, args []string) ([]string, error) {
	var positional []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		args = fs.Args()
		if len(args) == 0 {
			return positional, nil
		}
		positional = append(positional, args[0])
		args = args[1:]
	}
}

func newFlagSet(name string, stdout io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet("cti-sim "+name, flag.ContinueOnError)
	fs.SetOutput(stdout)
	return fs
}

func serve(ctx context.Context, args []string, getenv func(string) string, stdout io.Writer) error {
	fs := newFlagSet("serve", stdout)
	addr := fs.String("addr", envOr(getenv, EnvAddr, DefaultAddr), "listen address (env "+EnvAddr+")")
	eventsURL := fs.String("events-url", envOr(getenv, EnvEventsURL, DefaultEventsURL), "casehub's events endpoint (env "+EnvEventsURL+")")
	secret := fs.String("secret", envOr(getenv, EnvSecret, DefaultSecret), "HMAC secret for event signatures (env "+EnvSecret+")")
	token := fs.String("token", getenv(EnvToken), "bearer token sent to casehub (env "+EnvToken+")")
	apiKey := fs.String("api-key", getenv(EnvAPIKey), "API key commands must carry; empty accepts any (env "+EnvAPIKey+")")
	defaultOutcome := fs.String("default-outcome", envOr(getenv, EnvDefaultOutcome, DefaultOutcome.String()), "outcome for numbers without a script (env "+EnvDefaultOutcome+")")
	ringTime := fs.Duration("ring-time", time.Second, "how long hangup-scripted calls ring before answering")
	agentDelay := fs.Duration("agent-answer-delay", 200*time.Millisecond, "how long agent legs ring before the agent answers")
	var scripts multiFlag
	fs.Var(&scripts, "script", "NUMBER=OUTCOME, e.g. +15551230001=busy or +15551230002=answer:3s; repeatable (env "+EnvScripts+", comma-separated)")
	pos, err := parse(fs, args)
	if errors.Is(err, flag.ErrHelp) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("cti-sim serve: %w", err)
	}
	if len(pos) > 0 {
		return fmt.Errorf("cti-sim serve: unexpected argument %q", pos[0])
	}

	cfg := Config{
		EventsURL:        *eventsURL,
		Secret:           *secret,
		Token:            *token,
		APIKey:           *apiKey,
		Scripts:          map[string]Outcome{},
		RingTime:         *ringTime,
		AgentAnswerDelay: *agentDelay,
		Logger:           slog.New(slog.NewTextHandler(stdout, nil)),
	}
	if cfg.DefaultOutcome, err = ParseOutcome(*defaultOutcome); err != nil {
		return fmt.Errorf("cti-sim serve: --default-outcome: %w", err)
	}
	if env := getenv(EnvScripts); env != "" && len(scripts) == 0 {
		for s := range strings.SplitSeq(env, ",") {
			if s = strings.TrimSpace(s); s != "" {
				scripts = append(scripts, s)
			}
		}
	}
	for _, s := range scripts {
		number, o, err := ParseScript(s)
		if err != nil {
			return fmt.Errorf("cti-sim serve: --script: %w", err)
		}
		cfg.Scripts[number] = o
	}

	log := cfg.Logger
	if cfg.Secret == DefaultSecret {
		log.Warn("cti-sim: signing events with the built-in development secret")
	}
	ln, err := (&net.ListenConfig{}).Listen(ctx, "tcp", *addr)
	if err != nil {
		return fmt.Errorf("cti-sim serve: listen on %s: %w", *addr, err)
	}
	sim := New(cfg)
	defer sim.Close()
	srv := &http.Server{Handler: sim.Handler(), ReadHeaderTimeout: 10 * time.Second}
	log.Info("cti-sim listening", "addr", "http://"+ln.Addr().String(), "events_url", cfg.EventsURL,
		"default_outcome", cfg.DefaultOutcome.String(), "scripts", len(cfg.Scripts))

	serveErr := make(chan error, 1)
	go func() { serveErr <- srv.Serve(ln) }()
	select {
	case err := <-serveErr:
		return fmt.Errorf("cti-sim serve: %w", err)
	case <-ctx.Done():
	}
	log.Info("cti-sim shutting down")
	shutdownCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	if err := srv.Shutdown(shutdownCtx); err != nil {
		return fmt.Errorf("cti-sim serve: shutdown: %w", err)
	}
	if err := <-serveErr; !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("cti-sim serve: %w", err)
	}
	return nil
}

// DefaultDialledNumber is the number a simulated caller dials when none is
// given: the support line casehub dev's queue calls out from.
const DefaultDialledNumber = "+12025550100"

func simFlag(fs *flag.FlagSet, getenv func(string) string) *string {
	return fs.String("sim", envOr(getenv, EnvSimURL, DefaultSimURL), "simulator base URL (env "+EnvSimURL+")")
}

func clientCall(ctx context.Context, args []string, getenv func(string) string, stdout io.Writer) error {
	fs := newFlagSet("call", stdout)
	in := InboundCall{IVR: map[string]string{}}
	fs.StringVar(&in.From, "from", "", "caller's number, E.164")
	fs.StringVar(&in.To, "to", DefaultDialledNumber, "dialled number, E.164 (default: the dev support line)")
	fs.StringVar(&in.Queue, "queue", "", "queue the call lands in")
	fs.StringVar(&in.CaseNumber, "case", "", "case number entered in the IVR")
	fs.BoolVar(&in.ViaIVR, "via-ivr", false, "send ivr_connected before incoming_call")
	var ivr multiFlag
	fs.Var(&ivr, "ivr", "IVR selection KEY=VALUE; repeatable")
	sim := simFlag(fs, getenv)
	pos, err := parse(fs, args)
	if errors.Is(err, flag.ErrHelp) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("cti-sim call: %w", err)
	}
	if len(pos) > 0 {
		return fmt.Errorf("cti-sim call: unexpected argument %q", pos[0])
	}
	for _, kv := range ivr {
		k, v, ok := strings.Cut(kv, "=")
		if !ok || k == "" {
			return fmt.Errorf("cti-sim call: --ivr %q: want KEY=VALUE", kv)
		}
		in.IVR[k] = v
	}
	if len(in.IVR) == 0 {
		in.IVR = nil
	}
	var out CallRecord
	if err := postJSON(ctx, *sim+"/sim/inbound-calls", in, &out); err != nil {
		return fmt.Errorf("cti-sim call: %w", err)
	}
	_, err = fmt.Fprintln(stdout, out.ID)
	return err
}

func clientChat(ctx context.Context, args []string, getenv func(string) string, stdout io.Writer) error {
	fs := newFlagSet("chat", stdout)
	var in StartChat
	fs.StringVar(&in.Email, "email", "", "customer's email address")
	fs.StringVar(&in.Name, "name", "", "customer's name")
	fs.StringVar(&in.Queue, "queue", "", "queue the chat lands in")
	fs.StringVar(&in.Text, "text", "", "first message from the customer")
	sim := simFlag(fs, getenv)
	pos, err := parse(fs, args)
	if errors.Is(err, flag.ErrHelp) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("cti-sim chat: %w", err)
	}
	if len(pos) > 0 {
		return fmt.Errorf("cti-sim chat: unexpected argument %q", pos[0])
	}
	var out ChatRecord
	if err := postJSON(ctx, *sim+"/sim/chats", in, &out); err != nil {
		return fmt.Errorf("cti-sim chat: %w", err)
	}
	_, err = fmt.Fprintln(stdout, out.ID)
	return err
}

func clientHangUp(ctx context.Context, args []string, getenv func(string) string, stdout io.Writer) error {
	fs := newFlagSet("hangup", stdout)
	sim := simFlag(fs, getenv)
	pos, err := parse(fs, args)
	if errors.Is(err, flag.ErrHelp) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("cti-sim hangup: %w", err)
	}
	if len(pos) != 1 {
		return errors.New("cti-sim hangup: want exactly one CALL_ID")
	}
	var out CallRecord
	if err := postJSON(ctx, *sim+"/sim/calls/"+url.PathEscape(pos[0])+"/hangup", struct{}{}, &out); err != nil {
		return fmt.Errorf("cti-sim hangup %s: %w", pos[0], err)
	}
	_, err = fmt.Fprintf(stdout, "%s %s\n", out.ID, out.State)
	return err
}

// postJSON posts in to url and decodes a 2xx answer into out. A non-2xx
// answer becomes an error carrying the simulator's code and message.
func postJSON(ctx context.Context, url string, in, out any) error {
	body, err := json.Marshal(in)
	if err != nil {
		return fmt.Errorf("encode request: %w", err)
	}
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("build request: %w", err)
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("post %s: %w", url, err)
	}
	defer resp.Body.Close()
	respBody, err := io.ReadAll(io.LimitReader(resp.Body, maxBodyBytes))
	if err != nil {
		return fmt.Errorf("read answer from %s: %w", url, err)
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		var eb errorBody
		if json.Unmarshal(respBody, &eb) == nil && eb.Code != "" {
			return fmt.Errorf("simulator answered %d %s: %s", resp.StatusCode, eb.Code, eb.Message)
		}
		return fmt.Errorf("simulator answered %d: %s", resp.StatusCode, strings.TrimSpace(string(respBody)))
	}
	if err := json.Unmarshal(respBody, out); err != nil {
		return fmt.Errorf("decode answer from %s: %w", url, err)
	}
	return nil
}
