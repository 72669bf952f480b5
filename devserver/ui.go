package devserver

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"go.yaml.in/yaml/v3"
)

// UIVersion is the Temporal Web UI server release pinned in tools/go.mod
// (the one the pinned CLI embeds).
const UIVersion = "v2.42.1"

// UIOptions says how to start the Temporal Web UI server on its own, beside a
// headless dev server or a cluster. Run on its own, the UI takes settings the
// CLI's embedded UI cannot: above all, sending credentials (casehub's codec
// cookie) to the codec endpoint, so a signed-in user reads payloads in clear
// without changing a setting in the browser.
type UIOptions struct {
	Bin             string // the UI server binary; see FindUI
	IP              string // default 127.0.0.1
	Port            int    // 0 picks a free one
	TemporalAddress string // the frontend's host:port
	// CodecEndpoint is where the UI sends payloads to be decoded; "" shows
	// them as stored. Credentials (cookies) go with every codec request.
	CodecEndpoint string
	Namespace     string // default "default"
	ConfigDir     string // where the UI's configuration file is written
	Output        io.Writer
}

// UI is a running Temporal Web UI server.
type UI struct {
	*child
	URL string
}

// uiConfig is the part of the UI server's configuration (its config.Config)
// casehub sets.
type uiConfig struct {
	TemporalGRPCAddress string `yaml:"temporalGrpcAddress"`
	Host                string `yaml:"host"`
	Port                int    `yaml:"port"`
	EnableUI            bool   `yaml:"enableUi"`
	DefaultNamespace    string `yaml:"defaultNamespace"`
	HideLogs            bool   `yaml:"hideLogs"`
	NotifyOnNewVersion  bool   `yaml:"notifyOnNewVersion"`
	CORS                struct {
		CookieInsecure bool `yaml:"cookieInsecure"`
	} `yaml:"cors"`
	Codec struct {
		Endpoint           string `yaml:"endpoint"`
		IncludeCredentials bool   `yaml:"includeCredentials"`
	} `yaml:"codec"`
}

// WriteUIConfig writes the UI server's configuration for o into
// o.ConfigDir/development.yaml, the file the server reads by default.
func WriteUIConfig(o UIOptions) error {
	var c uiConfig
	c.TemporalGRPCAddress = o.TemporalAddress
	c.Host, c.Port = o.IP, o.Port
	c.EnableUI = true
	c.DefaultNamespace = o.Namespace
	c.HideLogs = true
	c.CORS.CookieInsecure = true // plain http on the developer's machine
	c.Codec.Endpoint = o.CodecEndpoint
	c.Codec.IncludeCredentials = o.CodecEndpoint != ""
	raw, err := yaml.Marshal(c)
	if err != nil {
		return fmt.Errorf("encode the Temporal UI configuration: %w", err)
	}
	if err := os.MkdirAll(o.ConfigDir, 0o755); err != nil {
		return fmt.Errorf("create %s: %w", o.ConfigDir, err)
	}
	header := "# Written by casehub on every start (devserver.WriteUIConfig); edits are lost.\n"
	return os.WriteFile(filepath.Join(o.ConfigDir, "development.yaml"), append([]byte(header), raw...), 0o644)
}

// StartUI writes the UI's configuration, launches it and waits until it
// serves its page.
func StartUI(ctx context.Context, o UIOptions) (*UI, error) {
	if o.IP == "" {
		o.IP = "127.0.0.1"
	}
	if o.Namespace == "" {
		o.Namespace = "default"
	}
	if o.Output == nil {
		o.Output = io.Discard
	}
	var err error
	if o.Port == 0 {
		if o.Port, err = freePort(o.IP); err != nil {
			return nil, err
		}
	}
	if o.ConfigDir, err = filepath.Abs(o.ConfigDir); err != nil {
		return nil, err
	}
	if err := WriteUIConfig(o); err != nil {
		return nil, err
	}
	if _, err := os.Stat(o.Bin); err != nil {
		return nil, fmt.Errorf("temporal UI server not found at %s (build it with `make tools`): %w", o.Bin, err)
	}
	// The server joins --root and --config; from / an absolute directory stays as it is.
	// The server joins --root and --config; from / an absolute directory stays as it is.
	c, err := startChild("temporal UI server", o.Output, o.Bin, "--root", "/", "--config", o.ConfigDir, "--env", "development", "start")
	if err != nil {
		return nil, err
	}
	u := &UI{child: c, URL: "http://" + net.JoinHostPort(o.IP, strconv.Itoa(o.Port))}
	if err := u.waitReady(ctx); err != nil {
		_ = u.Stop()
		return nil, err
	}
	return u, nil
}

func (u *UI) waitReady(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	var last error
	for {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.URL+"/api/v1/settings", nil)
		if err != nil {
			return err
		}
		resp, err := http.DefaultClient.Do(req)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
			err = fmt.Errorf("%s answered %s", req.URL, resp.Status)
		}
		last = err
		select {
		case <-u.exited:
			return u.exitedWhileStarting()
		case <-ctx.Done():
			return fmt.Errorf("temporal UI server at %s not ready: %w", u.URL, errors.Join(ctx.Err(), last))
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// Stop interrupts the UI server and waits for it to exit (killing it after 10 s).
func (u *UI) Stop() error { return u.stop(10 * time.Second) }
