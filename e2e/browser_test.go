package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
	"github.com/google/uuid"
	"github.com/stretchr/testify/require"
)

// chromium is the browser the page tests drive: the Debian package
// `chromium`, installed by .ci/run. Nothing is downloaded at run time.
const chromium = "/usr/bin/chromium"

// pages counts the pages opened, to name their screenshots.
var pages atomic.Int64

// page is one browser tab on the desk or the wall.
type page struct {
	t    *testing.T
	base string          // the API's URL
	tab  context.Context // the tab; each step runs under its own deadline
	wait time.Duration   // how long a step waits for the page to show something
	n    int64           // which page of the test run

	mu     sync.Mutex
	errors []string // uncaught exceptions in the page
}

// openPage starts a fresh headless Chromium for one test. A missing
// browser fails the test: the browser tests are part of `make test`.
func openPage(t *testing.T) *page {
	t.Helper()
	if _, err := os.Stat(chromium); err != nil {
		t.Fatalf("the browser tests need Chromium at %s: install the Debian package chromium "+
			"(sudo apt-get install -y chromium; .ci/run does): %v", chromium, err)
	}
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(chromium),
		chromedp.Headless, chromedp.NoSandbox, chromedp.DisableGPU, chromedp.NoFirstRun, chromedp.NoDefaultBrowserCheck,
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1280, 1100),
	}
	p := &page{t: t, base: sys.apiURL, wait: 90 * time.Second, n: pages.Add(1)}
	alloc, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	tab, cancelTab := chromedp.NewContext(alloc, chromedp.WithListener(func(ev any) {
		if e, ok := ev.(*runtime.EventExceptionThrown); ok {
			msg := e.ExceptionDetails.Text
			if e.ExceptionDetails.Exception != nil {
				msg += " " + e.ExceptionDetails.Exception.Description
			}
			p.mu.Lock()
			p.errors = append(p.errors, msg)
			p.mu.Unlock()
		}
	}))
	p.tab = tab
	// The first run starts the browser, under no deadline: the browser
	// lives as long as the tab's context.
	require.NoError(t, chromedp.Do(tab), "start %s", chromium)
	t.Cleanup(func() { cancelTab(); cancelAlloc() })
	t.Cleanup(func() {
		p.mu.Lock()
		errs := p.errors
		p.mu.Unlock()
		if !t.Failed() && len(errs) > 0 {
			t.Errorf("the page threw: %q", errs)
		}
		if t.Failed() {
			p.failureScreenshot()
		}
	})
	return p
}

// failureScreenshot keeps what the page showed when the test failed, in
// $CASEHUB_BROWSER_ARTIFACTS or a temporary directory that outlives the test.
func (p *page) failureScreenshot() {
	dir := os.Getenv("CASEHUB_BROWSER_ARTIFACTS")
	if dir == "" {
		var err error
		if dir, err = os.MkdirTemp("", "casehub-browser-"); err != nil {
			p.t.Logf("no screenshot: %v", err)
			return
		}
	}
	ctx, cancel := context.WithTimeout(p.tab, 15*time.Second)
	defer cancel()
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		p.t.Logf("no screenshot: %v", err)
		return
	}
	html, _ := chromedp.Run(ctx, chromedp.OuterHTML(chromedp.CSS("html")))
	name := regexp.MustCompile(`[^A-Za-z0-9_.-]+`).ReplaceAllString(fmt.Sprintf("%s-%d", p.t.Name(), p.n), "_")
	path := filepath.Join(dir, name+".png")
	if err := os.WriteFile(path, png, 0o644); err != nil {
		p.t.Logf("no screenshot: %v", err)
		return
	}
	_ = os.WriteFile(filepath.Join(dir, name+".html"), []byte(html), 0o644)
	p.t.Logf("the page at the failure: %s (and its HTML beside it)", path)
	p.mu.Lock()
	defer p.mu.Unlock()
	if len(p.errors) > 0 {
		p.t.Logf("the page threw: %q", p.errors)
	}
}

// screenshot saves the page as name in $CASEHUB_SCREENSHOTS, when set: the
// README's pictures (docs/desk.png, docs/wall.png), made on demand so that
// `make test` changes no tracked file.
func (p *page) screenshot(name string) {
	dir := os.Getenv("CASEHUB_SCREENSHOTS")
	if dir == "" {
		return
	}
	ctx, cancel := context.WithTimeout(p.tab, p.wait)
	defer cancel()
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	require.NoError(p.t, err)
	require.NoError(p.t, os.WriteFile(filepath.Join(dir, name), png, 0o644))
}

// run runs actions under the step deadline.
func (p *page) run(what string, actions ...chromedp.Action[chromedp.Void]) {
	p.t.Helper()
	ctx, cancel := context.WithTimeout(p.tab, p.wait)
	defer cancel()
	require.NoError(p.t, chromedp.Do(ctx, actions...), what)
}

func (p *page) visit(path string) {
	p.t.Helper()
	p.run("open "+path, chromedp.Navigate(p.base+path))
}

// js quotes s for a JavaScript expression.
func js(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

// waitFor polls expr (JavaScript) until it is true, and fails the test with
// what describe (JavaScript) says the page shows if it never is.
func (p *page) waitFor(what, expr, describe string) {
	p.t.Helper()
	deadline := time.Now().Add(p.wait)
	for {
		ctx, cancel := context.WithDeadline(p.tab, deadline)
		_, err := chromedp.Run(ctx, chromedp.Poll[bool](expr,
			chromedp.WithPollingInterval(50*time.Millisecond), chromedp.WithPollingTimeout(time.Until(deadline))))
		cancel()
		if err == nil {
			return
		}
		// A page that navigates (a form posted, a redirect) destroys the
		// context the poll runs in; poll again in the new document.
		if !navigatedAway(err) || time.Now().After(deadline) {
			p.failWait(what, describe, err)
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// navigatedAway says err is a poll's context lost to a navigation.
func navigatedAway(err error) bool {
	return strings.Contains(err.Error(), "Cannot find context with specified id") ||
		strings.Contains(err.Error(), "Execution context was destroyed")
}

func (p *page) failWait(what, describe string, err error) {
	p.t.Helper()
	dctx, dcancel := context.WithTimeout(p.tab, 10*time.Second)
	defer dcancel()
	shown, _ := chromedp.Run(dctx, chromedp.Evaluate[string](describe))
	p.t.Fatalf("the page never showed %s: %v; it shows %q", what, err, shown)
}

// waitText waits until the element sel shows want.
func (p *page) waitText(sel, want string) {
	p.t.Helper()
	p.waitFor(fmt.Sprintf("%q in %s", want, sel),
		fmt.Sprintf(`(() => { const e = document.querySelector(%s); return !!e && e.offsetParent !== null && e.innerText.includes(%s); })()`, js(sel), js(want)),
		fmt.Sprintf(`(() => { const e = document.querySelector(%s); return e ? e.innerText : "(no %s)"; })()`, js(sel), strings.ReplaceAll(sel, `"`, `'`)))
}

// waitVisible waits until sel is shown.
func (p *page) waitVisible(sel string) {
	p.t.Helper()
	p.waitFor(sel, fmt.Sprintf(`(() => { const e = document.querySelector(%s); return !!e && e.offsetParent !== null; })()`, js(sel)),
		`document.body.innerText.slice(0, 2000)`)
}

// waitGone waits until nothing matches sel.
func (p *page) waitGone(sel string) {
	p.t.Helper()
	p.waitFor(sel+" gone", fmt.Sprintf(`document.querySelector(%s) === null`, js(sel)),
		fmt.Sprintf(`(() => { const e = document.querySelector(%s); return e ? e.outerHTML.slice(0, 1000) : ""; })()`, js(sel)))
}

// text is what sel shows now.
func (p *page) text(sel string) string {
	p.t.Helper()
	ctx, cancel := context.WithTimeout(p.tab, p.wait)
	defer cancel()
	s, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(sel)))
	require.NoError(p.t, err, "read %s", sel)
	return s
}

// click activates the button (or checkbox) sel from the keyboard: focus,
// then Enter (Space for a checkbox). Every control of the pages works so;
// and unlike a mouse click at the node's coordinates, it cannot land on
// another control when the page grows between the look and the click.
func (p *page) click(sel string) {
	p.t.Helper()
	key := "\r"
	if strings.Contains(sel, "checkbox") || strings.HasSuffix(sel, "open-incident") {
		key = " "
	}
	p.run("activate "+sel, chromedp.Focus(chromedp.CSS(sel), chromedp.NodeVisible), chromedp.KeyEvent(key))
}

// fill types value into the input sel, replacing what it held.
func (p *page) fill(sel, value string) {
	p.t.Helper()
	p.eval(fmt.Sprintf(`(() => { const e = document.querySelector(%s); e.value = ""; e.dispatchEvent(new Event("input", {bubbles: true})); })()`, js(sel)))
	p.run("type into "+sel, chromedp.SendKeys(chromedp.CSS(sel), value))
}

// enter presses Enter in sel: a form is sent from the keyboard.
func (p *page) enter(sel string) {
	p.t.Helper()
	p.run("press Enter in "+sel, chromedp.Focus(chromedp.CSS(sel), chromedp.NodeVisible), chromedp.KeyEvent("\r"))
}

// choose picks value in the select sel.
func (p *page) choose(sel, value string) {
	p.t.Helper()
	p.eval(fmt.Sprintf(`(() => { const e = document.querySelector(%s); e.value = %s; e.dispatchEvent(new Event("change", {bubbles: true})); })()`,
		js(sel), js(value)))
}

// eval runs JavaScript in the page.
func (p *page) eval(expr string) {
	p.t.Helper()
	ctx, cancel := context.WithTimeout(p.tab, p.wait)
	defer cancel()
	_, err := chromedp.Run(ctx, chromedp.Evaluate[bool](fmt.Sprintf(`(() => { %s; return true; })()`, expr)))
	require.NoError(p.t, err, expr)
}

// signIn signs in on the desk or the wall with the keyboard.
func (p *page) signIn(path, agentID, token string) {
	p.t.Helper()
	p.visit(path)
	p.waitVisible("#signin")
	if agentID != "" {
		p.fill("#signin-agent", agentID)
	}
	p.fill("#signin-token", token)
	p.enter("#signin-token")
	p.waitText("#conn", "Live")
}

// deskAgent makes a queue with settings and one agent of its own, a member
// that is offline until the page says otherwise.
func deskAgent(t *testing.T, settings map[string]any, name string) (queue, agentID, token string) {
	t.Helper()
	queue = "e2e-" + strings.ToLower(uuid.NewString()[:8])
	mustAPI(t, http.StatusOK, "PUT", "/v1/queues/"+queue, supervisor(), settings, nil)
	agentID = name + "-" + queue
	mustAPI(t, http.StatusOK, "PUT", "/v1/agents/"+agentID, supervisor(), map[string]any{"name": name}, nil)
	mustAPI(t, http.StatusNoContent, "PUT", "/v1/queues/"+queue+"/members/"+agentID, supervisor(), nil, nil)
	return queue, agentID, agentToken(t, agentID)
}

// waitExact waits until the element sel shows exactly want.
func (p *page) waitExact(sel, want string) {
	p.t.Helper()
	p.waitFor(fmt.Sprintf("%q as %s", want, sel),
		fmt.Sprintf(`(() => { const e = document.querySelector(%s); return !!e && e.innerText.trim() === %s; })()`, js(sel), js(want)),
		fmt.Sprintf(`(() => { const e = document.querySelector(%s); return e ? e.innerText : "(none)"; })()`, js(sel)))
}
