package devserver_test

import (
	"context"
	"encoding/json"
	"net/http"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/casehub/casehub/devserver"
)

// The UI that `casehub dev` starts tells the browser to send its cookies to
// casehub's codec endpoint, so a user signed in there reads payloads in clear
// without touching the UI's settings.
func TestUISendsCredentialsToTheCodec(t *testing.T) {
	ctx := context.Background()
	bin, err := devserver.FindUI(ctx, ".")
	require.NoError(t, err)
	ui, err := devserver.StartUI(ctx, devserver.UIOptions{
		Bin: bin, TemporalAddress: "127.0.0.1:7233", CodecEndpoint: "http://127.0.0.1:8080/codec",
		Namespace: "casehub", ConfigDir: t.TempDir(),
	})
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, ui.Stop()) })

	resp, err := http.Get(ui.URL + "/api/v1/settings")
	require.NoError(t, err)
	defer resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)
	var settings struct {
		DefaultNamespace string
		Codec            struct {
			Endpoint           string
			IncludeCredentials bool
		}
	}
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&settings))
	require.Equal(t, "http://127.0.0.1:8080/codec", settings.Codec.Endpoint)
	require.True(t, settings.Codec.IncludeCredentials)
	require.Equal(t, "casehub", settings.DefaultNamespace)

	page, err := http.Get(ui.URL + "/")
	require.NoError(t, err)
	page.Body.Close()
	require.Equal(t, http.StatusOK, page.StatusCode)
	require.Contains(t, page.Header.Get("Content-Type"), "text/html")
}
