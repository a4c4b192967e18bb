package web

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/smgw/smgw/internal/meter"
)

const chromium = "/usr/bin/chromium"

// newBrowser starts headless chromium with a fresh profile and returns a
// browser context bounded by timeout.
func newBrowser(t testing.TB, timeout time.Duration, w, h int) (context.Context, context.CancelFunc) {
	t.Helper()
	if _, err := os.Stat(chromium); err != nil {
		t.Skipf("%s is not installed (apt-get install chromium): %v", chromium, err)
	}
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(chromium),
		chromedp.Flag("headless", true),
		chromedp.Flag("no-sandbox", true),
		chromedp.Flag("disable-gpu", true),
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("no-first-run", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("user-data-dir", t.TempDir()),
		chromedp.WindowSize(w, h),
	}
	actx, acancel := chromedp.NewExecAllocator(context.Background(), opts...)
	bctx, bcancel := chromedp.NewContext(actx)
	tctx, tcancel := context.WithTimeout(bctx, timeout)
	return tctx, func() { tcancel(); bcancel(); acancel() }
}

// artifactDir is where screenshots go: the test's artifact directory
// (kept with go test -artifacts), logged.
func artifactDir(t *testing.T) string {
	d := t.ArtifactDir()
	t.Logf("artifacts in %s (keep them with go test -artifacts -outputdir DIR)", d)
	return d
}

// The page in a real browser: it pairs with a code, shows live power, and
// the power changes when a new reading is stored; screenshots at the
// 7-inch display's 800×480 and a phone's width.
func TestBrowserPage(t *testing.T) {
	e := start(t, nil)
	now := time.Now().UTC().Truncate(time.Minute)
	e.clk.Add(now.Sub(e.clk.Now()))
	seed(t, e.st, now.Add(-26*time.Hour), now, "elec-1")

	ctx, cancel := newBrowser(t, 60*time.Second, 800, 480)
	defer cancel()
	pc, err := e.svc.NewPairingCode(nil)
	if err != nil {
		t.Fatal(err)
	}
	css := func(s string) chromedp.CSS { return chromedp.CSS(s) }
	waitJS := func(expr string) chromedp.Action[chromedp.Void] {
		return chromedp.Poll[chromedp.Void](expr, chromedp.WithPollingTimeout(20*time.Second))
	}
	err = chromedp.Do(ctx,
		chromedp.EmulateViewport(800, 480),
		chromedp.Navigate(e.base+"/"),
		chromedp.WaitVisible(css("#pairform")),
		chromedp.SendKeys(css("#code"), pc.Code),
		chromedp.SendKeys(css("#name"), "browser test"),
		chromedp.Click(css("#pairform button")),
		chromedp.WaitVisible(css("#dash")),
		waitJS(`document.getElementById("power").textContent === "400"`),
		waitJS(`document.getElementById("conn").textContent === "live"`),
	)
	if err != nil {
		state, _ := chromedp.Run(context.WithoutCancel(ctx), chromedp.Evaluate[string](`JSON.stringify({power: document.getElementById("power").textContent, conn: document.getElementById("conn").textContent, dash: !document.getElementById("dash").hidden, err: document.getElementById("pairerr").textContent})`))
		t.Fatalf("page did not load and pair: %v (page: %s)", err, state)
	}
	if err := e.st.Append(context.Background(), reading("elec-1", meter.OBISActivePowerImport, now.Add(time.Second), 2345, meter.UnitWatt)); err != nil {
		t.Fatal(err)
	}
	if err := chromedp.Do(ctx,
		waitJS(`document.getElementById("power").textContent === "2345"`),
		waitJS(`document.getElementById("today").textContent !== "–"`),
	); err != nil {
		t.Fatalf("live power did not change: %v", err)
	}
	after, err := chromedp.Run(ctx, chromedp.Text(css("#power")))
	if err != nil {
		t.Fatal(err)
	}
	today, err := chromedp.Run(ctx, chromedp.Text(css("#today")))
	if err != nil {
		t.Fatal(err)
	}
	demo, err := chromedp.Run(ctx, chromedp.Evaluate[string](`document.getElementById("demo").hidden ? "hidden" : "shown"`))
	if err != nil {
		t.Fatal(err)
	}
	shot, err := chromedp.Run(ctx, chromedp.CaptureScreenshot())
	if err != nil {
		t.Fatal(err)
	}
	if after != "2345" || demo != "hidden" || today == "" {
		t.Errorf("after %q, today %q, demo banner %s", after, today, demo)
	}
	dir := artifactDir(t)
	if err := os.WriteFile(filepath.Join(dir, "han-800x480.png"), shot, 0o644); err != nil {
		t.Fatal(err)
	}
	// A phone.
	if err := chromedp.Do(ctx, chromedp.EmulateViewport(390, 844)); err != nil {
		t.Fatal(err)
	}
	width, err := chromedp.Run(ctx, chromedp.Evaluate[int](`document.documentElement.scrollWidth`))
	if err != nil {
		t.Fatal(err)
	}
	if width > 390 {
		t.Errorf("the page is %d px wide on a 390 px phone", width)
	}
	phone, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "han-phone.png"), phone, 0o644); err != nil {
		t.Fatal(err)
	}
}

// The demo page says it is the demo and needs no pairing.
func TestBrowserDemo(t *testing.T) {
	e := start(t, nil, func(o *Options) { o.Demo = true })
	now := time.Now().UTC().Truncate(time.Minute)
	e.clk.Add(now.Sub(e.clk.Now()))
	seed(t, e.st, now.Add(-2*time.Hour), now, "elec-1")
	ctx, cancel := newBrowser(t, 60*time.Second, 800, 480)
	defer cancel()
	if err := chromedp.Do(ctx,
		chromedp.Navigate(e.base+"/"),
		chromedp.WaitVisible(chromedp.CSS("#demo")),
		chromedp.WaitVisible(chromedp.CSS("#dash")),
	); err != nil {
		t.Fatal(err)
	}
	banner, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS("#demo")))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(banner, "demo mode: no pairing") {
		t.Errorf("banner %q", banner)
	}
}
