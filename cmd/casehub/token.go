package main

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/casehub/casehub/auth"
)

func runToken(ctx context.Context, args []string, getenv func(string) string, stdout io.Writer) error {
	if len(args) == 0 {
		return errors.New("usage: casehub token create --role agent|supervisor|integration|ops [--agent ID] [--description TEXT] | casehub token revoke TOKEN_ID")
	}
	switch args[0] {
	case "create":
		f, c := newFlags("token create", getenv)
		role := f.fs.String("role", "", "agent, supervisor, integration or ops (the codec endpoint only)")
		agent := f.fs.String("agent", "", "the agent id an agent token acts for")
		desc := f.fs.String("description", "", "what the token is for")
		if err := f.fs.Parse(args[1:]); err != nil {
			return err
		}
		c.logger()
		r, err := auth.ParseRole(*role)
		if err != nil {
			return err
		}
		st, err := openStore(ctx, c)
		if err != nil {
			return err
		}
		defer st.DB().Close()
		token, _, err := auth.Issue(ctx, st, r, *agent, *desc)
		if err != nil {
			return err
		}
		fmt.Fprintln(stdout, token)
		return nil
	case "revoke":
		f, c := newFlags("token revoke", getenv)
		if err := f.fs.Parse(args[1:]); err != nil {
			return err
		}
		if f.fs.NArg() != 1 {
			return errors.New("usage: casehub token revoke TOKEN_ID (or the whole token)")
		}
		c.logger()
		id := f.fs.Arg(0)
		if tid := auth.TokenID(id); tid != "" {
			id = tid
		}
		st, err := openStore(ctx, c)
		if err != nil {
			return err
		}
		defer st.DB().Close()
		if err := st.RevokeToken(ctx, id); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "revoked %s\n", id)
		return nil
	}
	return fmt.Errorf("unknown token command %q (want create or revoke)", args[0])
}
