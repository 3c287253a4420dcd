// Package browser drives headless Chromium over the DevTools protocol for
// the tests of the controller's web pages (the wallboard, the agent desk):
// open a page, wait for a condition, click and type as a person would, and
// take screenshots and the rendered DOM.
//
// Chromium's one-shot flags (--screenshot, --dump-dom) fire at the load
// event and cannot wait for a page fed by a live stream, nor click, so this
// speaks the protocol itself over a websocket.
package browser

import (
	"bufio"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/coder/websocket"
	"github.com/coder/websocket/wsjson"
)

// Flags are the Chromium flags used (besides the window size, the profile
// directory and the DevTools port).
var Flags = []string{"--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
	"--disable-background-networking", "--disable-component-update", "--disable-sync", "--hide-scrollbars"}

// Browser is one headless Chromium with one page. Its methods are for one
// goroutine at a time.
type Browser struct {
	cmd    *exec.Cmd
	dir    string
	ws     *websocket.Conn
	ctx    context.Context // bounds protocol calls (Deadline)
	cancel context.CancelFunc
	id     int
	logMu  sync.Mutex
	log    strings.Builder
	errors []string // exceptions and console errors of the page
}

// Launch starts Chromium with a window of width×height CSS pixels. ctx
// bounds the start; the browser lives until Close.
func Launch(ctx context.Context, chromium string, width, height int) (*Browser, error) {
	dir, err := os.MkdirTemp("", "hotline-chromium-")
	if err != nil {
		return nil, err
	}
	args := append(append([]string{}, Flags...), "--user-data-dir="+dir, fmt.Sprintf("--window-size=%d,%d", width, height),
		"--remote-debugging-port=0", "--remote-allow-origins=*", "about:blank")
	b := &Browser{cmd: exec.Command(chromium, args...), dir: dir}
	b.ctx, b.cancel = context.WithCancel(context.Background())
	b.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true} // so its helpers end with it
	stderr, err := b.cmd.StderrPipe()
	if err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	if err := b.cmd.Start(); err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	// Chromium prints "DevTools listening on ws://127.0.0.1:PORT/devtools/browser/ID".
	found := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stderr)
		re := regexp.MustCompile(`DevTools listening on (ws://\S+)`)
		for sc.Scan() {
			if m := re.FindStringSubmatch(sc.Text()); m != nil {
				select {
				case found <- m[1]:
				default:
				}
			}
			b.logMu.Lock()
			if b.log.Len() < 8000 {
				b.log.WriteString(sc.Text() + "\n")
			}
			b.logMu.Unlock()
		}
	}()
	var browserWS string
	select {
	case browserWS = <-found:
	case <-ctx.Done():
		b.Close()
		return nil, fmt.Errorf("chromium did not start: %w\n%s", ctx.Err(), b.Log())
	}
	host := strings.TrimPrefix(browserWS, "ws://")
	host, _, _ = strings.Cut(host, "/")
	pageWS, err := pageTarget(ctx, host)
	if err != nil {
		b.Close()
		return nil, err
	}
	if b.ws, _, err = websocket.Dial(ctx, pageWS, &websocket.DialOptions{HTTPHeader: http.Header{"Origin": {"http://" + host}}}); err != nil {
		b.Close()
		return nil, fmt.Errorf("devtools: %w", err)
	}
	b.ws.SetReadLimit(64 << 20) // a screenshot is one message of base64 PNG
	for _, step := range []struct {
		method string
		params any
	}{
		{"Emulation.setDeviceMetricsOverride", map[string]any{"width": width, "height": height, "deviceScaleFactor": 1, "mobile": false}},
		{"Runtime.enable", map[string]any{}},
	} {
		if err := b.call(step.method, step.params, nil); err != nil {
			b.Close()
			return nil, err
		}
	}
	return b, nil
}

// Close ends Chromium and removes its profile.
func (b *Browser) Close() {
	if b.ws != nil {
		b.ws.CloseNow()
	}
	b.cancel()
	if b.cmd.Process != nil {
		_ = syscall.Kill(-b.cmd.Process.Pid, syscall.SIGKILL)
		_ = b.cmd.Wait()
	}
	os.RemoveAll(b.dir)
}

// Log is what Chromium printed on its standard error.
func (b *Browser) Log() string {
	b.logMu.Lock()
	defer b.logMu.Unlock()
	return b.log.String()
}

// Errors are the page's uncaught exceptions and console errors so far.
func (b *Browser) Errors() []string { return append([]string(nil), b.errors...) }

// Deadline bounds every later protocol call (e.g. the test's deadline).
func (b *Browser) Deadline(t time.Time) {
	b.cancel()
	b.ctx, b.cancel = context.WithDeadline(context.Background(), t)
}

func pageTarget(ctx context.Context, host string) (string, error) {
	for {
		req, _ := http.NewRequestWithContext(ctx, "GET", "http://"+host+"/json/list", nil)
		resp, err := http.DefaultClient.Do(req)
		if err == nil {
			var targets []struct{ Type, WebSocketDebuggerURL string }
			raw, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			_ = json.Unmarshal(raw, &targets)
			for _, t := range targets {
				if t.Type == "page" && t.WebSocketDebuggerURL != "" {
					return t.WebSocketDebuggerURL, nil
				}
			}
		}
		select {
		case <-ctx.Done():
			return "", fmt.Errorf("no page target in chromium: %w", ctx.Err())
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// call sends one protocol command and waits for its answer, noting the
// page's errors among the events that arrive meanwhile.
func (b *Browser) call(method string, params any, result any) error {
	b.id++
	if err := wsjson.Write(b.ctx, b.ws, map[string]any{"id": b.id, "method": method, "params": params}); err != nil {
		return fmt.Errorf("%s: %w", method, err)
	}
	for {
		var msg struct {
			ID     int
			Method string
			Params json.RawMessage
			Result json.RawMessage
			Error  *struct {
				Code    int
				Message string
			}
		}
		if err := wsjson.Read(b.ctx, b.ws, &msg); err != nil {
			return fmt.Errorf("%s: %w", method, err)
		}
		if msg.Method != "" {
			b.event(msg.Method, msg.Params)
			continue
		}
		if msg.ID != b.id {
			continue // a late answer
		}
		if msg.Error != nil {
			return fmt.Errorf("%s: %d %s", method, msg.Error.Code, msg.Error.Message)
		}
		if result != nil {
			return json.Unmarshal(msg.Result, result)
		}
		return nil
	}
}

func (b *Browser) event(method string, params json.RawMessage) {
	switch method {
	case "Runtime.exceptionThrown":
		var p struct {
			ExceptionDetails struct {
				Text      string
				Exception struct{ Description string }
			}
		}
		_ = json.Unmarshal(params, &p)
		b.errors = append(b.errors, "exception: "+p.ExceptionDetails.Text+" "+p.ExceptionDetails.Exception.Description)
	case "Runtime.consoleAPICalled":
		var p struct {
			Type string
			Args []struct {
				Value       any
				Description string
			}
		}
		_ = json.Unmarshal(params, &p)
		if p.Type == "error" {
			var parts []string
			for _, a := range p.Args {
				parts = append(parts, fmt.Sprint(a.Value, a.Description))
			}
			b.errors = append(b.errors, "console.error: "+strings.Join(parts, " "))
		}
	}
}

// Navigate opens url in the page.
func (b *Browser) Navigate(url string) error {
	return b.call("Page.navigate", map[string]any{"url": url}, nil)
}

// Eval evaluates a JavaScript expression (awaiting a promise) and decodes
// its value into out (nil: ignore it).
func (b *Browser) Eval(expr string, out any) error {
	var r struct {
		Result           struct{ Value json.RawMessage }
		ExceptionDetails *struct {
			Text      string
			Exception struct{ Description string }
		}
	}
	if err := b.call("Runtime.evaluate", map[string]any{"expression": expr, "returnByValue": true, "awaitPromise": true}, &r); err != nil {
		return err
	}
	if r.ExceptionDetails != nil {
		return fmt.Errorf("javascript %q: %s %s", expr, r.ExceptionDetails.Text, r.ExceptionDetails.Exception.Description)
	}
	if out != nil && len(r.Result.Value) > 0 {
		return json.Unmarshal(r.Result.Value, out)
	}
	return nil
}

// WaitFor polls the JavaScript condition cond until it is true or ctx ends.
func (b *Browser) WaitFor(ctx context.Context, cond string) error {
	for {
		var ok bool
		if err := b.Eval("!!("+cond+")", &ok); err != nil {
			return err
		}
		if ok {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("waiting for %s: %w", cond, ctx.Err())
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// Rect is an element's box in CSS pixels of the viewport.
type Rect struct{ X, Y, Width, Height float64 }

// Box returns the box of the first element matching a CSS selector, after
// scrolling it into view.
func (b *Browser) Box(selector string) (Rect, error) {
	sel, _ := json.Marshal(selector)
	var r *Rect
	err := b.Eval(`(function(){var e=document.querySelector(`+string(sel)+`);if(!e)return null;e.scrollIntoView({block:"center"});`+
		`var r=e.getBoundingClientRect();return {X:r.x,Y:r.y,Width:r.width,Height:r.height};})()`, &r)
	if err != nil {
		return Rect{}, err
	}
	if r == nil {
		return Rect{}, fmt.Errorf("no element matches %s", selector)
	}
	return *r, nil
}

// Click clicks the middle of the element matching selector with the mouse,
// as a person would (press and release).
func (b *Browser) Click(selector string) error {
	r, err := b.Box(selector)
	if err != nil {
		return err
	}
	if r.Width == 0 || r.Height == 0 {
		return fmt.Errorf("%s is not visible", selector)
	}
	x, y := r.X+r.Width/2, r.Y+r.Height/2
	for _, typ := range []string{"mouseMoved", "mousePressed", "mouseReleased"} {
		p := map[string]any{"type": typ, "x": x, "y": y}
		if typ != "mouseMoved" {
			p["button"], p["clickCount"] = "left", 1
		}
		if err := b.call("Input.dispatchMouseEvent", p, nil); err != nil {
			return err
		}
	}
	return nil
}

// Type focuses the element matching selector (by clicking it) and types
// text into it.
func (b *Browser) Type(selector, text string) error {
	if err := b.Click(selector); err != nil {
		return err
	}
	return b.call("Input.insertText", map[string]any{"text": text}, nil)
}

// Screenshot is a PNG of the viewport.
func (b *Browser) Screenshot() ([]byte, error) {
	var png struct{ Data string }
	if err := b.call("Page.captureScreenshot", map[string]any{"format": "png"}, &png); err != nil {
		return nil, err
	}
	return base64.StdEncoding.DecodeString(png.Data)
}

// DOM is the rendered document's HTML.
func (b *Browser) DOM() (string, error) {
	var s string
	err := b.Eval("document.documentElement.outerHTML", &s)
	return s, err
}
