package e2e

import (
	"context"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/require"

	"github.com/casehub/casehub/devserver"
	"github.com/casehub/casehub/store"
	"github.com/casehub/casehub/workflows"
)

// The Temporal Web UI as `casehub dev` runs it: a visitor sees a process's
// input sealed; after signing in to casehub's codec with a supervisor's
// token, the same page shows it in clear, with no setting changed in the UI.
func TestTemporalUIShowsPayloadsInClearOnlyAfterSignIn(t *testing.T) {
	ctx := context.Background()
	e164, _ := callerNumber(t)
	queue, _ := setupQueue(t, nil)
	var cb store.Callback
	mustAPI(t, http.StatusCreated, "POST", "/v1/callbacks", supervisor(), map[string]any{
		"number": e164, "queue": queue, "time_zone": "America/New_York",
		"scheduled_at": time.Now().Add(2 * time.Hour).UTC().Format(time.RFC3339),
	}, &cb)
	wf := workflows.CallbackWorkflowID(cb.ID)
	waitCallback(t, cb.ID, step(workflows.CallbackStepScheduled), "the callback waits for its time")
	desc, err := sys.client.DescribeWorkflowExecution(ctx, wf, "")
	require.NoError(t, err)
	run := desc.WorkflowExecutionInfo.Execution.RunId

	bin, err := devserver.FindUI(ctx, ".")
	require.NoError(t, err)
	origin, err := url.Parse(sys.uiOrigin)
	require.NoError(t, err)
	port, err := strconv.Atoi(origin.Port())
	require.NoError(t, err)
	ui, err := devserver.StartUI(ctx, devserver.UIOptions{
		Bin: bin, Port: port, TemporalAddress: sys.temporalAddr, CodecEndpoint: sys.apiURL + "/codec",
		ConfigDir: t.TempDir(),
	})
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, ui.Stop()) })

	p := openPage(t)
	history := ui.URL + "/namespaces/default/workflows/" + url.PathEscape(wf) + "/" + run + "/history"
	body := `document.body.innerText`

	// A visitor: the page shows the process and its sealed input, not the number.
	p.run("open the process in the UI", chromedp.Navigate(history))
	p.waitFor("the sealed input", body+`.includes("encryption-key-id")`, body)
	require.NotContains(t, p.text("body"), e164)
	require.NotContains(t, p.text("body"), strings.TrimPrefix(e164, "+"))

	// Signed in to the codec: the same page shows the caller's number.
	p.visit("/codec/sign-in")
	p.fill(`input[name="token"]`, supervisor())
	// The form posts and the answer page replaces it: wait for that page.
	sctx, cancel := context.WithTimeout(p.tab, p.wait)
	defer cancel()
	resp, err := chromedp.RunResponse(sctx, chromedp.Click(chromedp.CSS(`form[action="/codec/sign-in"] button[type="submit"]`)))
	require.NoError(t, err, "sign in")
	require.Equal(t, int64(http.StatusOK), resp.Status)
	p.waitFor("signed in", body+`.includes("Signed in")`, body)
	p.run("open the process again", chromedp.Navigate(history))
	p.waitFor("the input in clear", body+`.includes(`+js(e164)+`)`, body)
}
