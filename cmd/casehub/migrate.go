package main

import (
	"context"
	"fmt"
	"io"

	"github.com/casehub/casehub/schema"
)

func runMigrate(ctx context.Context, args []string, getenv func(string) string, stdout io.Writer) error {
	f, c := newFlags("migrate", getenv)
	f.fs.Usage = func() {
		fmt.Fprintln(f.fs.Output(), "usage: casehub migrate [flags] [up|down|status]")
		f.fs.PrintDefaults()
	}
	if err := f.fs.Parse(args); err != nil {
		return err
	}
	c.logger()
	direction := "up"
	if f.fs.NArg() > 0 {
		direction = f.fs.Arg(0)
	}
	switch direction {
	case "up", "down", "status":
	default:
		return fmt.Errorf("unknown migrate direction %q (want up, down or status)", direction)
	}
	return migrate(ctx, c, direction, stdout)
}

func migrate(ctx context.Context, c *config, direction string, stdout io.Writer) error {
	if direction == "up" {
		if err := schema.EnsureDatabase(ctx, c.DatabaseURL); err != nil {
			return fmt.Errorf("%w (is PostgreSQL running at %s?)", err, redact(c.DatabaseURL))
		}
	}
	st, err := openStore(ctx, c)
	if err != nil {
		return err
	}
	defer st.DB().Close()
	db := st.DB().DB
	switch direction {
	case "up":
		applied, err := schema.Up(ctx, db)
		if err != nil {
			return err
		}
		cur, _, err := schema.Version(ctx, db)
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "migrated: %d applied, schema at version %d\n", len(applied), cur)
	case "down":
		v, err := schema.Down(ctx, db)
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "rolled back version %d\n", v)
	case "status":
		cur, latest, err := schema.Version(ctx, db)
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "schema at version %d; this binary has up to %d\n", cur, latest)
	}
	return nil
}
