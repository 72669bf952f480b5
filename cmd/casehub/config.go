package main

import (
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"time"

	"github.com/casehub/casehub/activities"
	"github.com/casehub/casehub/codec"
	"github.com/casehub/casehub/internal/cli"
	"github.com/casehub/casehub/workflows"
)

// config is every setting casehub reads, from flags with environment
// fallbacks. The README's configuration table lists them.
type config struct {
	WorkflowCacheSize int
	CTIEventRetention time.Duration
	IdemKeyRetention  time.Duration
	EventRetention    time.Duration

	DatabaseURL         string
	TemporalAddress     string
	TemporalNamespace   string
	TemporalCompression string
	HTTPAddr            string
	MetricsAddr         string
	DefaultRegion       string
	LogLevel            string
	LogFormat           string
	QueryTimeout        time.Duration
	ShutdownTimeout     time.Duration

	CreateInteraction bool
	CloseOnEscalate   bool
	CallerID          string
	CallbackHorizon   time.Duration
	CaseStepTimeout   time.Duration

	CTIURL           string
	CTIAPIKey        string
	CTIWebhookSecret string

	CodecKeyFile string // payload keys, one "<id> <base64>" per line
	CodecKeys    string // or the keys themselves, comma-separated
	CodecOrigins string // browser origins allowed to call /codec (the Temporal UI)
	keys         *codec.Keyring
	codecOff     bool // CASEHUB_CODEC_KEYS=off

	// dev only
	DataDir     string
	TemporalBin string
	TemporalUI  int
}

// envFlags are casehub's flags with environment fallbacks (package cli),
// and the groups of settings its commands share.
type envFlags struct {
	fs     *flag.FlagSet
	getenv func(string) string
}

func (e envFlags) shared() cli.EnvFlags { return cli.EnvFlags{FS: e.fs, Getenv: e.getenv} }

func (e envFlags) str(p *string, name, env, def, help string) {
	e.shared().Str(p, name, env, def, help)
}

func (e envFlags) dur(p *time.Duration, name, env string, def time.Duration, help string) {
	e.shared().Dur(p, name, env, def, help)
}

func (e envFlags) int(p *int, name, env string, def int, help string) {
	e.shared().Int(p, name, env, def, help)
}

func (e envFlags) bool(p *bool, name, env string, def bool, help string) {
	e.shared().Bool(p, name, env, def, help)
}

// newFlags makes a flag set for command name with the settings every
// command shares.
func newFlags(name string, getenv func(string) string) (envFlags, *config) {
	fs := flag.NewFlagSet("casehub "+name, flag.ContinueOnError)
	e := envFlags{fs: fs, getenv: getenv}
	c := &config{}
	e.str(&c.DatabaseURL, "database-url", "DATABASE_URL", "postgres://postgres@127.0.0.1:5432/casehub?sslmode=disable", "PostgreSQL URL")
	e.str(&c.TemporalAddress, "temporal-address", "TEMPORAL_ADDRESS", "127.0.0.1:7233", "Temporal frontend host:port")
	e.str(&c.TemporalNamespace, "temporal-namespace", "TEMPORAL_NAMESPACE", "default", "Temporal namespace")
	e.str(&c.TemporalCompression, "temporal-grpc-compression", "TEMPORAL_GRPC_COMPRESSION", "none",
		"none or gzip: whether requests to Temporal are gzipped (sealed payloads do not compress)")
	e.str(&c.LogLevel, "log-level", "CASEHUB_LOG_LEVEL", "info", "log level: debug, info, warn, error")
	e.str(&c.LogFormat, "log-format", "CASEHUB_LOG_FORMAT", "text", "log format: text or json")
	e.dur(&c.QueryTimeout, "query-timeout", "CASEHUB_QUERY_TIMEOUT", 5*time.Second, "deadline of every PostgreSQL query")
	e.dur(&c.ShutdownTimeout, "shutdown-timeout", "CASEHUB_SHUTDOWN_TIMEOUT", 15*time.Second, "how long a graceful stop may take")
	return e, c
}

// codecFlags are the payload encryption settings of every command that
// talks to Temporal (README, "Personal data").
func (e envFlags) codecFlags(c *config, defaultKeyFile string) {
	e.str(&c.CodecKeyFile, "codec-key-file", "CASEHUB_CODEC_KEY_FILE", defaultKeyFile,
		`file of payload encryption keys, "<id> <base64 32 bytes>" per line, the last one sealing new payloads`)
	e.str(&c.CodecKeys, "codec-keys", "CASEHUB_CODEC_KEYS", "", `payload encryption keys as "<id>:<base64>,..." (instead of a file); "off" leaves payloads in clear (measurements only)`)
	e.str(&c.CodecOrigins, "codec-cors-origins", "CASEHUB_CODEC_CORS_ORIGINS", "http://localhost:8233,http://127.0.0.1:8233",
		"browser origins (the Temporal Web UI) allowed to call the codec endpoint, comma-separated")
}

// keyring loads the payload keys the settings name (once).
func (c *config) keyring() (*codec.Keyring, error) {
	if c.keys != nil || c.codecOff {
		return c.keys, nil
	}
	k, err := c.loadKeyring()
	c.keys, c.codecOff = k, err == nil && k == nil
	return k, err
}

func (c *config) loadKeyring() (*codec.Keyring, error) {
	switch {
	case c.CodecKeys == "off":
		return nil, nil
	case c.CodecKeys != "":
		k, err := codec.ParseKeys(c.CodecKeys)
		if err != nil {
			return nil, fmt.Errorf("CASEHUB_CODEC_KEYS: %w", err)
		}
		return k, nil
	case c.CodecKeyFile != "":
		return codec.LoadFile(c.CodecKeyFile)
	}
	return nil, errors.New("payloads in Temporal are encrypted: set CASEHUB_CODEC_KEY_FILE or CASEHUB_CODEC_KEYS " +
		"(`casehub codec-key` prints a new key)")
}

func (e envFlags) httpFlags(c *config) {
	e.str(&c.HTTPAddr, "http-addr", "CASEHUB_HTTP_ADDR", "127.0.0.1:8080", "API listen address")
	e.str(&c.DefaultRegion, "default-region", "CASEHUB_DEFAULT_REGION", "US", "region (ISO 3166) for phone numbers written without a country code")
}

// ctiFlags are the telephony platform's settings: where the worker sends
// commands, and the secret the platform signs its events with.
func (e envFlags) ctiFlags(c *config, defaultSecret string) {
	e.str(&c.CTIURL, "cti-url", "CASEHUB_CTI_URL", "http://127.0.0.1:8090", "telephony platform (or cti-sim) base URL for commands")
	e.str(&c.CTIAPIKey, "cti-api-key", "CASEHUB_CTI_API_KEY", "", "API key sent to the telephony platform")
	e.str(&c.CTIWebhookSecret, "cti-webhook-secret", "CASEHUB_CTI_WEBHOOK_SECRET", defaultSecret, "shared secret the platform signs events with (empty: events refused)")
}

// interactionFlags are the system-wide interaction properties.
func (e envFlags) interactionFlags(c *config) {
	e.bool(&c.CreateInteraction, "create-interaction", "CASEHUB_CREATE_INTERACTION", true, "click-to-call creates an interaction record (like sn_openframe.create_interaction)")
	e.bool(&c.CloseOnEscalate, "close-on-escalate", "CASEHUB_CLOSE_ON_ESCALATE", false, "escalating an interaction to an incident or request closes it")
	e.str(&c.CallerID, "caller-id", "CASEHUB_CALLER_ID", "+12025550100", "E.164 number outbound calls come from when the queue sets none")
	e.dur(&c.CallbackHorizon, "callback-horizon", "CASEHUB_CALLBACK_HORIZON", 30*24*time.Hour, "how far ahead a callback may be scheduled")
	e.dur(&c.CaseStepTimeout, "case-step-timeout", "CASEHUB_CASE_STEP_TIMEOUT", workflows.DefaultCaseStepTimeout,
		"how long a case process waits for the agent's next step before it ends as abandoned")
}

// workerFlags are the worker's own settings.
func (e envFlags) workerFlags(c *config) {
	e.int(&c.WorkflowCacheSize, "workflow-cache-size", "CASEHUB_WORKFLOW_CACHE_SIZE", 2000,
		"workflows kept in the worker's memory between tasks (the SDK's sticky cache; bounds the worker's memory)")
	e.dur(&c.CTIEventRetention, "cti-event-retention", "CASEHUB_CTI_EVENT_RETENTION", workflows.DefaultCTIEventRetention,
		"how long raw platform events (callers' numbers, chat text) are kept")
	e.dur(&c.IdemKeyRetention, "idempotency-key-retention", "CASEHUB_IDEMPOTENCY_KEY_RETENTION", workflows.DefaultIdempotencyKeyRetention,
		"how long Idempotency-Key records (and the answers they replay) are kept")
	e.dur(&c.EventRetention, "event-retention", "CASEHUB_EVENT_RETENTION", activities.DefaultEventRetention,
		"how long live events are kept for desks to resume from (docs/events.md)")
}

func (e envFlags) metricsFlags(c *config) {
	e.str(&c.MetricsAddr, "metrics-addr", "CASEHUB_METRICS_ADDR", "127.0.0.1:9090", "worker's /metrics listen address (empty: off)")
}

func (c *config) logger() *slog.Logger { return cli.Logger(c.LogLevel, c.LogFormat) }
