// Package ariedge is the concrete Asterisk ARI client behind ivr.Switch.
//
// It owns both the REST layer and the event websocket instead of using
// ari/v5's client/native, whose faults we must survive in production:
// an event type it does not know crashes its bus and forces a reconnect,
// its REST calls have no timeout, its subscriptions silently drop events
// once 100 are unread, and its Connect blocks until Asterisk is reachable.
// From ari/v5 we use only the types and ari.DecodeEvent.
//
// Lifecycle: New never dials; Run keeps the websocket up (reconnecting with
// jittered exponential backoff) until its context ends; REST calls work
// independently of the websocket state.
package ariedge

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"runtime/debug"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/coder/websocket"
	"github.com/rs/zerolog"

	"github.com/hotline95598/hotline/ivr"
)

// Defaults applied by New for zero Config fields.
const (
	DefaultRequestTimeout = 5 * time.Second
	DefaultMinBackoff     = 200 * time.Millisecond
	DefaultMaxBackoff     = 10 * time.Second
)

// maxFrameBytes bounds a single websocket frame. ARI events are a few KB; a
// bigger frame is skipped (counted as undecodable), not fatal.
const maxFrameBytes = 1 << 20

// Config says where Asterisk's ARI is and how patient to be with it.
type Config struct {
	URL            string // ARI base URL, e.g. http://127.0.0.1:8088/ari
	User, Password string
	App            string        // Stasis application name
	RequestTimeout time.Duration // per REST request and websocket dial; default 5s
	MinBackoff     time.Duration // first reconnect delay; default 200ms
	MaxBackoff     time.Duration // reconnect delay cap; default 10s
}

// Handler receives the call-level events of the Stasis application.
type Handler interface {
	// OnConnect is called after every successful (re)connect of the event
	// websocket, on the event loop and before any event of the new
	// connection is dispatched. The application reconciles calls that are
	// already in Stasis here (ListChannels, then Subscribe and take them
	// over). Because events wait until OnConnect returns, a channel
	// subscribed here sees every event of the connection and its
	// StasisStart, if any, arrives as EvAnswered instead of a second
	// OnStasisStart. OnConnect must therefore not wait for channel events.
	OnConnect(ctx context.Context)
	// OnStasisStart is called, in a new goroutine per call, when a channel
	// that nobody subscribed to enters the application (an inbound call).
	// The handler owns the call; ctx is the context given to Run.
	OnStasisStart(ctx context.Context, ch ivr.ChannelInfo, args []string)
}

// Client is the ARI client. It implements ivr.Switch.
type Client struct {
	cfg  Config
	log  zerolog.Logger
	m    *Metrics
	http *http.Client
	ws   *http.Client // dials the event websocket (no timeout: the dial's ctx bounds it)

	base     string // ARI base URL without trailing slash
	wsURL    string // event websocket URL, credentials included: never log it
	origin   string
	cfgErr   error  // invalid Config, reported by Run and every request
	redWSURL string // wsURL with the api_key redacted, for logs and Health

	connected atomic.Bool

	hmu     sync.Mutex // guards the health fields below
	since   time.Time  // when connected last changed
	lastErr string
	everUp  bool

	smu  sync.Mutex
	subs map[string][]*subscriber // channel id -> subscribers
}

var _ ivr.Switch = (*Client)(nil)

// New builds a Client. It never blocks and never dials: call Run to start the
// event websocket. An invalid URL is reported by Run and by every request.
func New(cfg Config, log zerolog.Logger, m *Metrics) *Client {
	if cfg.RequestTimeout <= 0 {
		cfg.RequestTimeout = DefaultRequestTimeout
	}
	if cfg.MinBackoff <= 0 {
		cfg.MinBackoff = DefaultMinBackoff
	}
	if cfg.MaxBackoff <= 0 {
		cfg.MaxBackoff = DefaultMaxBackoff
	}
	if cfg.MaxBackoff < cfg.MinBackoff {
		cfg.MaxBackoff = cfg.MinBackoff
	}
	c := &Client{
		cfg:  cfg,
		log:  log.With().Str("component", "ariedge").Logger(),
		m:    m,
		http: &http.Client{Timeout: cfg.RequestTimeout},
		ws: &http.Client{Transport: &http.Transport{
			DialContext: (&net.Dialer{
				Timeout: cfg.RequestTimeout,
				// Nothing flows on an idle event socket; TCP keepalive is what
				// notices a peer that vanished without closing (host crash,
				// NAT timeout).
				KeepAliveConfig: net.KeepAliveConfig{Enable: true, Idle: 15 * time.Second, Interval: 5 * time.Second, Count: 3},
			}).DialContext,
			TLSHandshakeTimeout: cfg.RequestTimeout,
		}},
		subs:  make(map[string][]*subscriber),
		since: time.Now(),
	}
	c.base, c.wsURL, c.redWSURL, c.origin, c.cfgErr = eventURLs(cfg)
	if c.cfgErr == nil && cfg.App == "" {
		c.cfgErr = errors.New("ariedge: Config.App is empty")
	}
	c.lastErr = "not connected yet"
	m.setConnected(false)
	return c
}

// eventURLs derives the REST base, the event websocket URL (and a redacted
// copy for logs) and the websocket Origin from the configured ARI URL.
func eventURLs(cfg Config) (base, ws, redacted, origin string, err error) {
	u, err := url.Parse(strings.TrimRight(cfg.URL, "/"))
	if err != nil {
		return "", "", "", "", fmt.Errorf("ariedge: bad ARI URL: %w", err)
	}
	var wsScheme string
	switch u.Scheme {
	case "http":
		wsScheme = "ws"
	case "https":
		wsScheme = "wss"
	default:
		return "", "", "", "", fmt.Errorf("ariedge: ARI URL %q: scheme must be http or https", cfg.URL)
	}
	if u.Host == "" {
		return "", "", "", "", fmt.Errorf("ariedge: ARI URL %q has no host", cfg.URL)
	}
	base = u.String()
	w := *u
	w.Scheme = wsScheme
	w.Path = u.Path + "/events"
	w.RawPath = ""
	q := url.Values{}
	q.Set("app", cfg.App)
	q.Set("subscribeAll", "false")
	w.RawQuery = q.Encode()
	redacted = w.String() + "&api_key=REDACTED"
	q.Set("api_key", cfg.User+":"+cfg.Password)
	w.RawQuery = q.Encode()
	return base, w.String(), redacted, u.Scheme + "://" + u.Host, nil
}

// Connected reports whether the event websocket is up right now.
func (c *Client) Connected() bool { return c.connected.Load() }

// Health is for /healthz: ok while the event websocket is connected; detail
// says since when, or why not. It never contains credentials.
func (c *Client) Health() (ok bool, detail string) {
	c.hmu.Lock()
	defer c.hmu.Unlock()
	since := c.since.Format(time.RFC3339)
	if c.connected.Load() {
		return true, fmt.Sprintf("ARI events connected to %s since %s", c.redWSURL, since)
	}
	return false, fmt.Sprintf("ARI events disconnected since %s: %s", since, c.lastErr)
}

func (c *Client) setConnected(up bool, why string) {
	c.hmu.Lock()
	c.connected.Store(up)
	c.since = time.Now()
	if !up {
		c.lastErr = why
	}
	c.hmu.Unlock()
	c.m.setConnected(up)
}

// Run keeps the event websocket up and dispatches its events until ctx ends,
// then returns ctx's error. Dial failures and dropped connections are
// retried with jittered exponential backoff (MinBackoff..MaxBackoff), reset
// after every successful connect. It returns another error only if the
// Config is invalid.
func (c *Client) Run(ctx context.Context, h Handler) error {
	if c.cfgErr != nil {
		c.setConnected(false, c.cfgErr.Error())
		return c.cfgErr
	}
	backoff := c.cfg.MinBackoff
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		conn, err := c.dial(ctx)
		if err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			c.setConnected(false, "dial: "+err.Error())
			wait := c.jitter(backoff)
			c.log.Warn().Err(err).Dur("retry_in", wait).Msg("ARI websocket dial failed")
			if !sleep(ctx, wait) {
				return ctx.Err()
			}
			backoff = min(2*backoff, c.cfg.MaxBackoff)
			continue
		}
		backoff = c.cfg.MinBackoff

		c.hmu.Lock()
		reconnect := c.everUp
		c.everUp = true
		c.hmu.Unlock()
		if reconnect {
			c.m.reconnect()
		}
		c.setConnected(true, "")
		c.log.Info().Str("url", c.redWSURL).Bool("reconnect", reconnect).Msg("ARI websocket connected")
		c.filterEvents(ctx)

		err = c.serve(ctx, conn, h)
		c.setConnected(false, err.Error())
		if ctx.Err() != nil {
			return ctx.Err()
		}
		wait := c.jitter(backoff)
		c.log.Warn().Err(err).Dur("retry_in", wait).Msg("ARI websocket lost")
		if !sleep(ctx, wait) {
			return ctx.Err()
		}
		backoff = min(2*backoff, c.cfg.MaxBackoff)
	}
}

// jitter spreads reconnects of many controllers: a delay in [d, 1.5d],
// capped at MaxBackoff.
func (c *Client) jitter(d time.Duration) time.Duration {
	if d <= 0 {
		return 0
	}
	return min(d+rand.N(d/2+1), c.cfg.MaxBackoff)
}

// sleep waits d or until ctx ends; it reports whether d elapsed.
func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}

// dial opens the event websocket, bounded by RequestTimeout.
func (c *Client) dial(ctx context.Context) (*websocket.Conn, error) {
	dctx, cancel := context.WithTimeout(ctx, c.cfg.RequestTimeout)
	defer cancel()
	conn, _, err := websocket.Dial(dctx, c.wsURL, &websocket.DialOptions{
		HTTPClient: c.ws,
		HTTPHeader: http.Header{"Origin": {c.origin}},
	})
	if err != nil {
		// A *url.Error prints the URL, api_key included: keep only its cause.
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return nil, fmt.Errorf("websocket dial %s: %w", c.redWSURL, err)
	}
	// Frames are bounded by serve, which skips an oversized one instead of
	// dropping the connection as the library's own limit would.
	conn.SetReadLimit(-1)
	return conn, nil
}

// serve reads frames until the connection fails or ctx ends; it always
// returns a non-nil error and closes conn.
func (c *Client) serve(ctx context.Context, conn *websocket.Conn, h Handler) error {
	// A read ends when ctx does (the library closes the connection then).
	defer conn.CloseNow()

	c.safeCall("OnConnect", "", func() { h.OnConnect(ctx) })

	var frame bytes.Buffer
	for {
		err := readFrame(ctx, conn, &frame)
		if errors.Is(err, errFrameTooLarge) {
			c.m.unknownEvent(labelUndecodable)
			c.log.Warn().Msg("ARI websocket frame too large, skipped")
			continue
		}
		if err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			return fmt.Errorf("websocket read: %w", err)
		}
		c.handleFrame(ctx, frame.Bytes(), h)
	}
}

var errFrameTooLarge = fmt.Errorf("frame over %d bytes", maxFrameBytes)

// readFrame reads the next message into buf (reset first). A message over
// maxFrameBytes is read to its end and discarded, and errFrameTooLarge
// returned: the connection stays usable.
func readFrame(ctx context.Context, conn *websocket.Conn, buf *bytes.Buffer) error {
	buf.Reset()
	_, r, err := conn.Reader(ctx)
	if err != nil {
		return err
	}
	if _, err := buf.ReadFrom(io.LimitReader(r, maxFrameBytes+1)); err != nil {
		return err
	}
	if buf.Len() <= maxFrameBytes {
		return nil
	}
	buf.Reset()
	if _, err := io.Copy(io.Discard, r); err != nil {
		return err
	}
	return errFrameTooLarge
}

// safeCall runs f, turning a panic into an error log so that one broken call
// cannot take the process (and every other call) down.
func (c *Client) safeCall(what, channelID string, f func()) {
	defer func() {
		if r := recover(); r != nil {
			c.log.Error().Str("handler", what).Str("channel_id", channelID).
				Interface("panic", r).Bytes("stack", debug.Stack()).Msg("ARI handler panicked")
		}
	}()
	f()
}
