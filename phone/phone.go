// Package phone normalises telephone numbers to E.164, the one form casehub
// stores and matches callers by.
package phone

import (
	"errors"
	"fmt"
	"strings"

	"github.com/nyaruka/phonenumbers"
)

// ErrInvalid means the input is not a dialable telephone number.
var ErrInvalid = errors.New("not a valid telephone number")

// Normalize parses raw (national or international notation) and returns it in
// E.164. Numbers without a leading + are read in defaultRegion (ISO 3166
// alpha-2, e.g. "US").
func Normalize(raw, defaultRegion string) (string, error) {
	raw = strings.TrimSpace(raw)
	if raw == "" {
		return "", fmt.Errorf("%w: empty", ErrInvalid)
	}
	if len(raw) > 64 {
		return "", fmt.Errorf("%w: too long", ErrInvalid)
	}
	n, err := phonenumbers.Parse(raw, strings.ToUpper(defaultRegion))
	if err != nil {
		return "", fmt.Errorf("%w: %v", ErrInvalid, err)
	}
	if !phonenumbers.IsValidNumber(n) {
		return "", fmt.Errorf("%w: no such number plan", ErrInvalid)
	}
	return phonenumbers.Format(n, phonenumbers.E164), nil
}

// IsE164 reports whether s is already a valid number written in E.164.
func IsE164(s string) bool {
	if !strings.HasPrefix(s, "+") {
		return false
	}
	n, err := Normalize(s, "")
	return err == nil && n == s
}
