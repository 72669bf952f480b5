// Package codec encrypts what casehub's processes carry through Temporal:
// every payload (workflow and activity inputs and results, signals,
// updates, queries, memos) is sealed with AES-256-GCM before it leaves the
// process, so the Temporal server, its database and its UI hold ciphertext.
// Several keys may be known at once so that keys can rotate: new payloads
// are sealed with the newest, older ones are still opened with theirs.
package codec

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"time"
)

// KeySize is the length of a key in bytes (AES-256).
const KeySize = 32

var keyID = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$`)

// Keyring is a set of named keys; the last one added seals new payloads.
type Keyring struct {
	ids   []string
	aeads map[string]cipher.AEAD
}

// NewKeyring is an empty keyring.
func NewKeyring() *Keyring { return &Keyring{aeads: map[string]cipher.AEAD{}} }

// Add adds a key under id; it becomes the one new payloads are sealed with.
func (k *Keyring) Add(id string, key []byte) error {
	if !keyID.MatchString(id) {
		return fmt.Errorf("key id %q: use 1-64 letters, digits, '.', '_' or '-'", id)
	}
	if len(key) != KeySize {
		return fmt.Errorf("key %q is %d bytes; AES-256 takes %d", id, len(key), KeySize)
	}
	if _, dup := k.aeads[id]; dup {
		return fmt.Errorf("key id %q is listed twice", id)
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return fmt.Errorf("key %q: %w", id, err)
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return fmt.Errorf("key %q: %w", id, err)
	}
	k.ids = append(k.ids, id)
	k.aeads[id] = aead
	return nil
}

// Current is the id of the key new payloads are sealed with.
func (k *Keyring) Current() string {
	if len(k.ids) == 0 {
		return ""
	}
	return k.ids[len(k.ids)-1]
}

// IDs lists the key ids, oldest first.
func (k *Keyring) IDs() []string { return append([]string(nil), k.ids...) }

// ParseKeys reads keys written as "<id> <base64 key>" or "<id>:<base64 key>",
// one per line or separated by commas; blank lines and lines starting with
// '#' are skipped. The last key seals new payloads.
func ParseKeys(text string) (*Keyring, error) {
	k := NewKeyring()
	var entries []string
	for _, line := range strings.Split(text, "\n") {
		if line = strings.TrimSpace(line); line != "" && !strings.HasPrefix(line, "#") {
			entries = append(entries, strings.Split(line, ",")...)
		}
	}
	for _, line := range entries {
		line = strings.TrimSpace(line)
		if line == "" {
			continue
		}
		id, enc, ok := strings.Cut(line, ":")
		if !ok || strings.ContainsAny(id, " \t") {
			fields := strings.Fields(line)
			if len(fields) != 2 {
				return nil, errors.New(`each key is "<id> <base64 key>" or "<id>:<base64 key>"`)
			}
			id, enc = fields[0], fields[1]
		}
		key, err := base64.StdEncoding.DecodeString(strings.TrimSpace(enc))
		if err != nil {
			return nil, fmt.Errorf("key %q is not base64: %w", id, err)
		}
		if err := k.Add(strings.TrimSpace(id), key); err != nil {
			return nil, err
		}
	}
	if len(k.ids) == 0 {
		return nil, errors.New("no keys given")
	}
	return k, nil
}

// LoadFile reads a key file (see ParseKeys).
func LoadFile(path string) (*Keyring, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read key file: %w", err)
	}
	k, err := ParseKeys(string(b))
	if err != nil {
		return nil, fmt.Errorf("key file %s: %w", path, err)
	}
	return k, nil
}

// NewKeyLine draws a fresh random key and writes it as a key file line.
func NewKeyLine(id string) (string, error) {
	key := make([]byte, KeySize)
	if _, err := rand.Read(key); err != nil {
		return "", fmt.Errorf("draw a key: %w", err)
	}
	return id + " " + base64.StdEncoding.EncodeToString(key), nil
}

// EnsureFile loads the key file at path, creating it with one fresh key
// (readable by its owner only) if it does not exist: the dev setup's key.
func EnsureFile(path string) (*Keyring, bool, error) {
	if _, err := os.Stat(path); err == nil {
		k, err := LoadFile(path)
		return k, false, err
	} else if !errors.Is(err, os.ErrNotExist) {
		return nil, false, fmt.Errorf("key file: %w", err)
	}
	line, err := NewKeyLine("dev-" + time.Now().UTC().Format("20060102"))
	if err != nil {
		return nil, false, err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, false, fmt.Errorf("key file: %w", err)
	}
	text := "# casehub payload keys: \"<id> <base64 32 bytes>\", one per line; the last seals new payloads.\n" + line + "\n"
	if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
		return nil, false, fmt.Errorf("write key file: %w", err)
	}
	k, err := LoadFile(path)
	return k, true, err
}
