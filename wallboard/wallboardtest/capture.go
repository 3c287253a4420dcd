// Package wallboardtest renders the wallboard in headless Chromium for tests:
// it waits until the page shows live numbers, then takes a screenshot and
// the rendered DOM.
//
// Chromium's one-shot flags do not suit a page fed by server-sent events:
// --screenshot and --dump-dom fire at the load event, which does not wait
// for the first event, and --virtual-time-budget never ends while the
// stream is open. So this drives Chromium over the DevTools protocol.
package wallboardtest

import (
	"bufio"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
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

// Ready is a JavaScript condition: the wallboard is connected to its stream
// and shows a number of callers waiting in queue.
func Ready(queue string) string {
	q, _ := json.Marshal(queue)
	return `(function(){var c=document.getElementById('conn');` +
		`var w=document.querySelector('[data-queue=' + JSON.stringify(` + string(q) + `) + '] [data-field="waiting"]');` +
		`return !!c && c.getAttribute('data-state')==='connected' && !!w && /^[0-9]+$/.test(w.textContent);})()`
}

// Shot is what the page looked like.
type Shot struct {
	PNG []byte
	DOM string
}

// Flags are the Chromium flags used (besides the window size, the profile
// directory and the DevTools port).
var Flags = []string{"--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
	"--disable-background-networking", "--disable-component-update", "--disable-sync", "--hide-scrollbars"}

// Capture opens url in headless Chromium at width×height, waits until the
// JavaScript expression ready is true, and captures the page. If ctx ends
// first it still returns what the page looked like, with an error.
func Capture(ctx context.Context, chromium, url string, width, height int, ready string) (Shot, error) {
	dir, err := os.MkdirTemp("", "wallboard-chromium-")
	if err != nil {
		return Shot{}, err
	}
	defer os.RemoveAll(dir)
	args := append(append([]string{}, Flags...), "--user-data-dir="+dir, fmt.Sprintf("--window-size=%d,%d", width, height),
		"--remote-debugging-port=0", "--remote-allow-origins=*", "about:blank")
	cmd := exec.Command(chromium, args...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true} // so its helpers end with it
	stderr, err := cmd.StderrPipe()
	if err != nil {
		return Shot{}, err
	}
	if err := cmd.Start(); err != nil {
		return Shot{}, err
	}
	defer func() {
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		_ = cmd.Wait()
	}()

	// Chromium prints "DevTools listening on ws://127.0.0.1:PORT/devtools/browser/ID".
	var log strings.Builder
	var logMu sync.Mutex
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
			logMu.Lock()
			if log.Len() < 8000 {
				log.WriteString(sc.Text() + "\n")
			}
			logMu.Unlock()
		}
	}()
	var browserWS string
	select {
	case browserWS = <-found:
	case <-ctx.Done():
		logMu.Lock()
		defer logMu.Unlock()
		return Shot{}, fmt.Errorf("chromium did not start: %w\n%s", ctx.Err(), log.String())
	}
	host := strings.TrimPrefix(browserWS, "ws://")
	host, _, _ = strings.Cut(host, "/")

	pageWS, err := pageTarget(ctx, host)
	if err != nil {
		return Shot{}, err
	}
	// The DevTools session outlives ctx a little: room to capture the page
	// after a timeout.
	wsCtx, cancel := context.WithCancel(context.Background())
	if dl, ok := ctx.Deadline(); ok {
		wsCtx, cancel = context.WithDeadline(context.Background(), dl.Add(10*time.Second))
	}
	defer cancel()
	ws, _, err := websocket.Dial(wsCtx, pageWS, &websocket.DialOptions{HTTPHeader: http.Header{"Origin": {"http://" + host}}})
	if err != nil {
		return Shot{}, fmt.Errorf("devtools: %w", err)
	}
	defer ws.CloseNow()
	ws.SetReadLimit(64 << 20) // a screenshot is one message of base64 PNG
	c := &cdp{ws: ws, ctx: wsCtx}

	if err := c.call("Emulation.setDeviceMetricsOverride", map[string]any{"width": width, "height": height, "deviceScaleFactor": 1, "mobile": false}, nil); err != nil {
		return Shot{}, err
	}
	if err := c.call("Page.navigate", map[string]any{"url": url}, nil); err != nil {
		return Shot{}, err
	}
	var waitErr error
	for {
		ok, err := c.evalBool("!!(" + ready + ")")
		if err != nil {
			return Shot{}, err
		}
		if ok {
			break
		}
		select {
		case <-ctx.Done():
			waitErr = fmt.Errorf("page not ready: %w", ctx.Err())
		case <-time.After(100 * time.Millisecond):
		}
		if waitErr != nil {
			break
		}
	}
	// Let the page paint what it just rendered: two animation frames.
	if waitErr == nil {
		if err := c.call("Runtime.evaluate", map[string]any{"awaitPromise": true,
			"expression": "new Promise(r => requestAnimationFrame(() => requestAnimationFrame(() => r(true))))"}, nil); err != nil {
			return Shot{}, err
		}
	}
	var shot Shot
	var png struct{ Data string }
	if err := c.call("Page.captureScreenshot", map[string]any{"format": "png"}, &png); err != nil {
		return shot, errors.Join(waitErr, err)
	}
	if shot.PNG, err = base64.StdEncoding.DecodeString(png.Data); err != nil {
		return shot, errors.Join(waitErr, err)
	}
	var dom struct {
		Result struct{ Value string }
	}
	if err := c.call("Runtime.evaluate", map[string]any{"expression": "document.documentElement.outerHTML", "returnByValue": true}, &dom); err != nil {
		return shot, errors.Join(waitErr, err)
	}
	shot.DOM = dom.Result.Value
	return shot, waitErr
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

// cdp is one DevTools session, used by one goroutine.
type cdp struct {
	ws  *websocket.Conn
	ctx context.Context // bounds every message of the session
	id  int
}

func (c *cdp) call(method string, params any, result any) error {
	c.id++
	if err := wsjson.Write(c.ctx, c.ws, map[string]any{"id": c.id, "method": method, "params": params}); err != nil {
		return fmt.Errorf("%s: %w", method, err)
	}
	for {
		var msg struct {
			ID     int
			Result json.RawMessage
			Error  *struct {
				Code    int
				Message string
			}
		}
		if err := wsjson.Read(c.ctx, c.ws, &msg); err != nil {
			return fmt.Errorf("%s: %w", method, err)
		}
		if msg.ID != c.id {
			continue // an event, or a late answer
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

func (c *cdp) evalBool(expr string) (bool, error) {
	var r struct {
		Result struct{ Value any }
	}
	if err := c.call("Runtime.evaluate", map[string]any{"expression": expr, "returnByValue": true}, &r); err != nil {
		return false, err
	}
	b, _ := r.Result.Value.(bool)
	return b, nil
}
