package ariedge

import (
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/url"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"

	"github.com/hotline95598/hotline/ivr"
)

// pipeNet is an in-memory network: the client's transports dial it and the
// fake ARI's HTTP server accepts from it, each connection a net.Pipe. With
// no real socket the tests run inside a synctest bubble, where timeouts,
// backoff and "nothing happens for 100 ms" take no real time.
type pipeNet struct {
	conns  chan net.Conn
	closed chan struct{}
	once   sync.Once
}

func newPipeNet() *pipeNet { return &pipeNet{conns: make(chan net.Conn), closed: make(chan struct{})} }

// Accept, Close and Addr make it the server's net.Listener.
func (n *pipeNet) Accept() (net.Conn, error) {
	select {
	case c := <-n.conns:
		return c, nil
	case <-n.closed:
		return nil, net.ErrClosed
	}
}

func (n *pipeNet) Close() error {
	n.once.Do(func() { close(n.closed) })
	return nil
}

func (n *pipeNet) Addr() net.Addr { return &net.UnixAddr{Name: "ari.test", Net: "pipe"} }

// DialContext connects to the server; once the network is closed the
// connection is refused, as by a host where nothing listens.
func (n *pipeNet) DialContext(ctx context.Context, network, addr string) (net.Conn, error) {
	client, server := net.Pipe()
	select {
	case n.conns <- server:
		return client, nil
	case <-n.closed:
		return nil, &net.OpError{Op: "dial", Net: network, Err: syscall.ECONNREFUSED}
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// client builds a Client whose REST and websocket transports dial n.
func (n *pipeNet) client(t *testing.T, cfg Config, m *Metrics) *Client {
	c := New(cfg, zerolog.New(io.Discard), m)
	rest, ws := &http.Transport{DialContext: n.DialContext}, &http.Transport{DialContext: n.DialContext}
	c.http.Transport, c.ws.Transport = rest, ws
	t.Cleanup(func() {
		rest.CloseIdleConnections()
		ws.CloseIdleConnections()
	})
	return c
}

// fakeARI is an in-memory ARI: /ari/events is a websocket whose connections
// the test drives, every other /ari/ path is recorded and answered by a
// route the test registered (default 204).
type fakeARI struct {
	t   *testing.T
	net *pipeNet

	down atomic.Bool // refuse websocket upgrades with 503

	mu       sync.Mutex
	reqs     []recReq
	routes   map[string]http.HandlerFunc // "METHOD /ari/path"
	wsTries  []time.Time                 // every upgrade attempt
	wsQuery  url.Values
	conns    chan *wsConn
	closeAll []chan struct{}
}

type recReq struct {
	Method, Path string
	Query        url.Values
	User, Pass   string
}

// wsConn is one accepted event websocket.
type wsConn struct {
	ws   *websocket.Conn
	done chan struct{} // close to drop the connection from the server side
	once sync.Once
}

func (w *wsConn) send(t *testing.T, frame string) {
	t.Helper()
	if err := w.ws.Write(context.Background(), websocket.MessageText, []byte(frame)); err != nil {
		t.Fatalf("fake ARI send: %v", err)
	}
}

func (w *wsConn) close() { w.once.Do(func() { close(w.done) }) }

func newFakeARI(t *testing.T) *fakeARI {
	f := &fakeARI{t: t, routes: map[string]http.HandlerFunc{}, conns: make(chan *wsConn, 10)}
	ws := func(rw http.ResponseWriter, r *http.Request) {
		conn, err := websocket.Accept(rw, r, nil)
		if err != nil {
			t.Errorf("fake ARI upgrade: %v", err)
			return
		}
		defer conn.CloseNow()
		conn.SetReadLimit(-1)
		w := &wsConn{ws: conn, done: make(chan struct{})}
		f.mu.Lock()
		f.closeAll = append(f.closeAll, w.done)
		f.mu.Unlock()
		f.conns <- w
		// Returning closes the connection: wait for the test or the client.
		gone := make(chan struct{})
		go func() {
			for {
				if _, _, err := conn.Read(context.Background()); err != nil {
					break
				}
			}
			close(gone)
		}()
		select {
		case <-w.done:
		case <-gone:
		}
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/ari/events", func(rw http.ResponseWriter, r *http.Request) {
		f.mu.Lock()
		f.wsTries = append(f.wsTries, time.Now())
		f.wsQuery = r.URL.Query()
		f.mu.Unlock()
		if f.down.Load() {
			http.Error(rw, "down", http.StatusServiceUnavailable)
			return
		}
		ws(rw, r)
	})
	mux.HandleFunc("/ari/", func(rw http.ResponseWriter, r *http.Request) {
		user, pass, _ := r.BasicAuth()
		key := r.Method + " " + r.URL.Path
		f.mu.Lock()
		f.reqs = append(f.reqs, recReq{Method: r.Method, Path: r.URL.Path, Query: r.URL.Query(), User: user, Pass: pass})
		h := f.routes[key]
		f.mu.Unlock()
		if h == nil {
			rw.WriteHeader(http.StatusNoContent)
			return
		}
		h(rw, r)
	})
	f.net = newPipeNet()
	srv := &http.Server{Handler: mux}
	go func() { _ = srv.Serve(f.net) }()
	t.Cleanup(func() {
		f.mu.Lock()
		for _, d := range f.closeAll {
			select {
			case <-d:
			default:
				close(d)
			}
		}
		f.mu.Unlock()
		_ = srv.Close() // the listener (f.net) and every connection
	})
	return f
}

func (f *fakeARI) route(key string, h http.HandlerFunc) {
	f.mu.Lock()
	f.routes[key] = h
	f.mu.Unlock()
}

func (f *fakeARI) requests() []recReq {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]recReq(nil), f.reqs...)
}

func (f *fakeARI) tries() []time.Time {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]time.Time(nil), f.wsTries...)
}

// nextConn waits for the client to open a websocket.
func (f *fakeARI) nextConn(t *testing.T) *wsConn {
	t.Helper()
	select {
	case c := <-f.conns:
		return c
	case <-time.After(5 * time.Second):
		t.Fatal("client did not connect to the fake ARI")
		return nil
	}
}

// noConn asserts the client does not open another websocket for d.
func (f *fakeARI) noConn(t *testing.T, d time.Duration) {
	t.Helper()
	select {
	case <-f.conns:
		t.Fatal("client reconnected, want the same connection kept")
	case <-time.After(d):
	}
}

func jsonReply(status int, v any) http.HandlerFunc {
	return func(rw http.ResponseWriter, _ *http.Request) {
		rw.Header().Set("Content-Type", "application/json")
		rw.WriteHeader(status)
		_ = json.NewEncoder(rw).Encode(v)
	}
}

// testHandler records what the client hands to the application.
type testHandler struct {
	connects atomic.Int32
	connCh   chan struct{}
	starts   chan stasisCall
	panicFor string // channel id whose OnStasisStart panics
}

type stasisCall struct {
	info ivr.ChannelInfo
	args []string
}

func newTestHandler() *testHandler {
	return &testHandler{connCh: make(chan struct{}, 10), starts: make(chan stasisCall, 10)}
}

func (h *testHandler) OnConnect(context.Context) {
	h.connects.Add(1)
	h.connCh <- struct{}{}
}

func (h *testHandler) OnStasisStart(_ context.Context, ch ivr.ChannelInfo, args []string) {
	if ch.ID == h.panicFor {
		panic("handler bug")
	}
	h.starts <- stasisCall{ch, args}
}

func (h *testHandler) waitConnect(t *testing.T) {
	t.Helper()
	select {
	case <-h.connCh:
	case <-time.After(5 * time.Second):
		t.Fatal("OnConnect not called")
	}
}

type testEnv struct {
	f   *fakeARI
	c   *Client
	h   *testHandler
	reg *prometheus.Registry
	ws  *wsConn // the first connection, once Run is up
}

func testConfig() Config {
	return Config{
		URL: "http://ari.test/ari", User: "hotline", Password: "s3cret", App: "hotline",
		RequestTimeout: 200 * time.Millisecond, MinBackoff: 30 * time.Millisecond, MaxBackoff: 120 * time.Millisecond,
	}
}

// startEnv runs a client against a fresh fake ARI and waits until it is
// connected and OnConnect ran.
func startEnv(t *testing.T) *testEnv {
	t.Helper()
	e := &testEnv{f: newFakeARI(t), h: newTestHandler(), reg: prometheus.NewRegistry()}
	e.c = e.f.net.client(t, testConfig(), NewMetrics(e.reg))
	runClient(t, e.c, e.h)
	e.ws = e.f.nextConn(t)
	e.h.waitConnect(t)
	return e
}

// runClient runs c until the test ends and checks Run then returns.
func runClient(t *testing.T, c *Client, h Handler) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- c.Run(ctx, h) }()
	t.Cleanup(func() {
		cancel()
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			t.Error("Run did not return after cancel")
		}
	})
}

// metricValue reads a counter or gauge from reg; 0 when absent.
func metricValue(t *testing.T, reg *prometheus.Registry, name string, labels map[string]string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
	next:
		for _, m := range mf.GetMetric() {
			got := map[string]string{}
			for _, lp := range m.GetLabel() {
				got[lp.GetName()] = lp.GetValue()
			}
			for k, v := range labels {
				if got[k] != v {
					continue next
				}
			}
			if m.GetCounter() != nil {
				return m.GetCounter().GetValue()
			}
			if m.GetGauge() != nil {
				return m.GetGauge().GetValue()
			}
			if m.GetHistogram() != nil {
				return float64(m.GetHistogram().GetSampleCount())
			}
		}
	}
	return 0
}

// recv reads one event or fails after a second.
func recv(t *testing.T, ch <-chan ivr.Event) ivr.Event {
	t.Helper()
	select {
	case ev, ok := <-ch:
		if !ok {
			t.Fatal("event channel closed")
		}
		return ev
	case <-time.After(2 * time.Second):
		t.Fatal("no event")
		return ivr.Event{}
	}
}

// eventually polls cond for up to 5s.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// Frames as Asterisk 22 sends them.

const ts = "2024-05-01T10:00:00.000+0800"

func chanJSON(id, callerNum string) map[string]any {
	return map[string]any{
		"id": id, "name": "PJSIP/trunk-00000001", "state": "Ring", "accountcode": "",
		"caller":       map[string]any{"name": "Zhang San", "number": callerNum},
		"connected":    map[string]any{"name": "", "number": ""},
		"dialplan":     map[string]any{"context": "from-trunk", "exten": "95598", "priority": 1, "app_name": "Stasis", "app_data": "hotline"},
		"creationtime": ts, "language": "zh",
	}
}

func frame(typ string, fields map[string]any) string {
	m := map[string]any{"type": typ, "timestamp": ts, "application": "hotline", "asterisk_id": "00:11:22:33:44:55"}
	for k, v := range fields {
		m[k] = v
	}
	b, err := json.Marshal(m)
	if err != nil {
		panic(err)
	}
	return string(b)
}

func dtmfFrame(ch, digit string) string {
	return frame("ChannelDtmfReceived", map[string]any{"channel": chanJSON(ch, "1001"), "digit": digit, "duration_ms": 100})
}
