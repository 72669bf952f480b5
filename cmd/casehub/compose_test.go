package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"os"
	"sort"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	"go.yaml.in/yaml/v3"
)

// docker-compose.yml cannot run here (no Docker engine), so this keeps it
// consistent with the binary instead: every casehub command it runs, health
// checks included, parses, and every variable it sets is one that command
// reads.
func TestComposeFileMatchesTheBinary(t *testing.T) {
	raw, err := os.ReadFile("../../docker-compose.yml")
	require.NoError(t, err)
	var compose struct {
		Services map[string]struct {
			Build       string            `yaml:"build"`
			Command     []string          `yaml:"command"`
			Environment map[string]string `yaml:"environment"`
			Healthcheck *struct {
				Test []string `yaml:"test"`
			} `yaml:"healthcheck"`
		} `yaml:"services"`
	}
	require.NoError(t, yaml.Unmarshal(raw, &compose))

	var built []string
	for name, svc := range compose.Services {
		if svc.Build != "." {
			continue
		}
		built = append(built, name)
		t.Run(name, func(t *testing.T) {
			require.NotEmpty(t, svc.Command, "a casehub service names its command")
			asked := map[string]bool{}
			getenv := func(k string) string { asked[k] = true; return svc.Environment[k] }
			parses(t, helpOf(svc.Command), getenv)
			var unread []string
			for k := range svc.Environment {
				if !asked[k] {
					unread = append(unread, k)
				}
			}
			sort.Strings(unread)
			require.Empty(t, unread, "set in docker-compose.yml but not read by casehub %s", strings.Join(svc.Command, " "))

			if svc.Healthcheck != nil && len(svc.Healthcheck.Test) > 2 && strings.HasSuffix(svc.Healthcheck.Test[1], "/casehub") {
				parses(t, helpOf(svc.Healthcheck.Test[2:]), getenv)
			}
		})
	}
	sort.Strings(built)
	require.Equal(t, []string{"api", "cti-sim", "migrate", "worker"}, built)
}

// helpOf is a command line asking for its command's help: migrate takes
// its flags before the step, the others after their (sub)command.
func helpOf(cmd []string) []string {
	if cmd[0] == "migrate" {
		return append([]string{"migrate", "-h"}, cmd[1:]...)
	}
	return append(append([]string{}, cmd...), "-h")
}

// parses runs a command line that ends in -h: its flags must all be known.
func parses(t *testing.T, args []string, getenv func(string) string) {
	t.Helper()
	var out bytes.Buffer
	err := run(context.Background(), args, getenv, &out)
	if err != nil && !errors.Is(err, flag.ErrHelp) {
		require.NoError(t, err, "casehub %s", strings.Join(args, " "))
	}
	require.NotContains(t, out.String(), "flag provided but not defined", "casehub %s", strings.Join(args, " "))
}
