package main

import (
	"fmt"
	"io"
	"time"

	"github.com/casehub/casehub/codec"
)

// runCodecKey prints a fresh key line for the payload key file (or, with
// commas, CASEHUB_CODEC_KEYS); the id defaults to today's date.
func runCodecKey(args []string, stdout io.Writer) error {
	id := time.Now().UTC().Format("2006-01-02")
	switch len(args) {
	case 0:
	case 1:
		id = args[0]
	default:
		return fmt.Errorf("usage: casehub codec-key [ID]")
	}
	line, err := codec.NewKeyLine(id)
	if err != nil {
		return err
	}
	if _, err := codec.ParseKeys(line); err != nil {
		return err
	}
	_, err = fmt.Fprintln(stdout, line)
	return err
}
