// Command casehub runs contact-center case processes as Temporal workflows.
//
//	casehub dev        the whole system locally: Temporal dev server + UI, migrations, worker, API
//	casehub cluster    the same on a local Temporal cluster: separate services, two workers, two APIs
//	casehub api        the HTTP API
//	casehub worker     the Temporal worker
//	casehub migrate    create the database if missing and apply migrations (up|down|status)
//	casehub token      create or revoke API tokens
//	casehub selfcheck  run a workflow through the worker into PostgreSQL and report
//	casehub cti-sim    the telephony platform simulator (and a traffic injector)
package main

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/casehub/casehub/cti/ctisim"
	"github.com/casehub/casehub/internal/cli"
)

func main() { cli.Main("casehub", run) }

const usage = `usage: casehub <command> [flags]

commands:
  dev        run the whole system locally (Temporal dev server with UI, PostgreSQL schema, worker, API)
  cluster    run it on a local Temporal cluster (separate services on PostgreSQL, two workers, two APIs): cluster [reset]
  api        serve the HTTP API
  worker     run the Temporal worker
  migrate    create the database if missing and apply migrations: migrate [up|down|status]
  token      manage API tokens: token create --role R [--agent ID] | token revoke TOKEN_ID
  selfcheck  run a workflow through the worker into PostgreSQL and report how long it took
  cti-sim    the telephony platform simulator: cti-sim [serve] | call | chat | hangup
  healthcheck  GET a URL and fail unless it answers 200 (container health checks)
  codec-key  print a new payload encryption key line: codec-key [ID] (add it last to the key file to rotate)

Run "casehub <command> -h" for the command's flags.
`

func run(ctx context.Context, args []string, getenv func(string) string, stdout io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stdout, usage)
		return errors.New("no command given")
	}
	cmd, rest := args[0], args[1:]
	switch cmd {
	case "dev":
		return runDev(ctx, rest, getenv, stdout)
	case "cluster":
		return runCluster(ctx, rest, getenv, stdout)
	case "api":
		return runAPI(ctx, rest, getenv)
	case "worker":
		return runWorker(ctx, rest, getenv)
	case "migrate":
		return runMigrate(ctx, rest, getenv, stdout)
	case "token":
		return runToken(ctx, rest, getenv, stdout)
	case "selfcheck":
		return runSelfCheck(ctx, rest, getenv, stdout)
	case "cti-sim":
		return ctisim.Main(ctx, rest, getenv, stdout)
	case "healthcheck":
		return runHealthcheck(ctx, rest, getenv, stdout)
	case "codec-key":
		return runCodecKey(rest, stdout)
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
		return nil
	}
	fmt.Fprint(stdout, usage)
	return fmt.Errorf("unknown command %q", cmd)
}
