package codec_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	commonpb "go.temporal.io/api/common/v1"
	"go.temporal.io/sdk/converter"

	"github.com/casehub/casehub/codec"
)

func keyring(t *testing.T, ids ...string) *codec.Keyring {
	t.Helper()
	var lines []string
	for _, id := range ids {
		line, err := codec.NewKeyLine(id)
		require.NoError(t, err)
		lines = append(lines, line)
	}
	k, err := codec.ParseKeys(strings.Join(lines, "\n"))
	require.NoError(t, err)
	return k
}

func TestSealedPayloadsOpenAndHideTheirContent(t *testing.T) {
	dc := codec.DataConverter(keyring(t, "k1"))
	p, err := dc.ToPayload(map[string]string{"caller": "+12025550143", "email": "ann@example.com"})
	require.NoError(t, err)
	require.Equal(t, codec.Encoding, string(p.Metadata[codec.MetadataEncoding]))
	require.Equal(t, "k1", string(p.Metadata[codec.MetadataKeyID]))
	require.NotContains(t, string(p.Data), "+12025550143", "sealed")
	require.NotContains(t, string(p.Data), "ann@example.com")

	var back map[string]string
	require.NoError(t, dc.FromPayload(p, &back))
	require.Equal(t, "+12025550143", back["caller"])

	again, err := dc.ToPayload(map[string]string{"caller": "+12025550143", "email": "ann@example.com"})
	require.NoError(t, err)
	require.NotEqual(t, p.Data, again.Data, "a fresh nonce each time")
}

// Keys rotate: new payloads are sealed with the newest key, old ones still
// open with theirs; a payload whose key is gone fails naming it.
func TestKeysRotate(t *testing.T) {
	january, err := codec.NewKeyLine("2026-01")
	require.NoError(t, err)
	february, err := codec.NewKeyLine("2026-02")
	require.NoError(t, err)
	old, err := codec.ParseKeys(january)
	require.NoError(t, err)
	sealedOld, err := codec.DataConverter(old).ToPayload("written in January")
	require.NoError(t, err)

	both, err := codec.ParseKeys(january + "\n" + february)
	require.NoError(t, err)
	require.Equal(t, "2026-02", both.Current())
	var s string
	require.NoError(t, codec.DataConverter(both).FromPayload(sealedOld, &s))
	require.Equal(t, "written in January", s)
	sealedNew, err := codec.DataConverter(both).ToPayload("written in February")
	require.NoError(t, err)
	require.Equal(t, "2026-02", string(sealedNew.Metadata[codec.MetadataKeyID]))

	err = codec.DataConverter(old).FromPayload(sealedNew, &s)
	require.ErrorIs(t, err, codec.ErrUnknownKey)
	require.ErrorContains(t, err, `"2026-02"`, "the error names the missing key")
}

// Payloads written before the codec (committed histories, a tool without
// it) pass through unchanged.
func TestUnsealedPayloadsPassThrough(t *testing.T) {
	plain, err := converter.GetDefaultDataConverter().ToPayload("plain")
	require.NoError(t, err)
	var s string
	require.NoError(t, codec.DataConverter(keyring(t, "k1")).FromPayload(plain, &s))
	require.Equal(t, "plain", s)
}

func TestTamperedPayloadsAreRefused(t *testing.T) {
	c := codec.New(keyring(t, "k1"))
	sealed, err := c.Encode([]*commonpb.Payload{{Metadata: map[string][]byte{"encoding": []byte("json/plain")}, Data: []byte(`"x"`)}})
	require.NoError(t, err)
	sealed[0].Data[len(sealed[0].Data)-1] ^= 1
	_, err = c.Decode(sealed)
	require.ErrorContains(t, err, `key "k1"`)
	sealed[0].Metadata[codec.MetadataKeyID] = []byte("k0")
	_, err = c.Decode(sealed)
	require.ErrorIs(t, err, codec.ErrUnknownKey)
}

func TestKeyFiles(t *testing.T) {
	path := filepath.Join(t.TempDir(), "dev", "codec-keys")
	k, created, err := codec.EnsureFile(path)
	require.NoError(t, err)
	require.True(t, created)
	info, err := os.Stat(path)
	require.NoError(t, err)
	require.Equal(t, os.FileMode(0o600), info.Mode().Perm(), "readable by its owner only")
	again, created, err := codec.EnsureFile(path)
	require.NoError(t, err)
	require.False(t, created, "the second start keeps the first key")
	require.Equal(t, k.IDs(), again.IDs())

	for _, bad := range []string{"", "k1", "k1 notbase64!", "k1 " + strings.Repeat("A", 8), "bad id:" + strings.Repeat("A", 44),
		"k1:" + strings.Repeat("A", 44) + ",k1:" + strings.Repeat("B", 44)} {
		_, err := codec.ParseKeys(bad)
		require.Error(t, err, "%q", bad)
	}
	k, err = codec.ParseKeys("# comment\nk1:" + strings.Repeat("A", 43) + "=\n\n k2 " + strings.Repeat("B", 43) + "=")
	require.NoError(t, err)
	require.Equal(t, []string{"k1", "k2"}, k.IDs())
}
