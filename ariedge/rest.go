package ariedge

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/CyCoreSystems/ari/v5"

	"github.com/hotline95598/hotline/ivr"
)

// ErrNotFound matches (errors.Is) an ARI 404 where a 404 is an error, e.g.
// answering a channel that is gone.
var ErrNotFound = errors.New("not found")

// HTTPError is a non-2xx answer from ARI. Path excludes the query string,
// which may carry phone numbers.
type HTTPError struct {
	Method  string
	Path    string
	Status  int
	Message string // ARI's "message", if it sent one
}

func (e *HTTPError) Error() string {
	s := fmt.Sprintf("ari %s %s: HTTP %d", e.Method, e.Path, e.Status)
	if e.Message != "" {
		s += ": " + e.Message
	}
	return s
}

// Is makes errors.Is(err, ErrNotFound) true for a 404.
func (e *HTTPError) Is(target error) bool {
	return target == ErrNotFound && e.Status == http.StatusNotFound
}

// Request outcomes, the "outcome" label of the request duration histogram.
const (
	outcomeOK       = "ok"
	outcomeNotFound = "not_found"
	outcomeError    = "error"
	outcomeTimeout  = "timeout"
)

// do performs one ARI REST request bounded by ctx and RequestTimeout. op
// names the operation for metrics. With notFoundOK a 404 returns nil (for
// idempotent deletes). When out is non-nil a 2xx JSON body is decoded into it.
func (c *Client) do(ctx context.Context, op, method, path string, q url.Values, notFoundOK bool, out any) error {
	return c.send(ctx, op, method, path, q, nil, notFoundOK, out)
}

// send is do with a JSON request body (nil: none).
func (c *Client) send(ctx context.Context, op, method, path string, q url.Values, reqBody []byte, notFoundOK bool, out any) error {
	if c.cfgErr != nil {
		return c.cfgErr
	}
	start := time.Now()
	outcome := outcomeError
	defer func() { c.m.request(op, outcome, time.Since(start).Seconds()) }()

	u := c.base + path
	if len(q) > 0 {
		u += "?" + q.Encode()
	}
	var rb io.Reader
	if reqBody != nil {
		rb = bytes.NewReader(reqBody)
	}
	req, err := http.NewRequestWithContext(ctx, method, u, rb)
	if err != nil {
		return fmt.Errorf("ari %s %s: %w", method, path, err)
	}
	req.SetBasicAuth(c.cfg.User, c.cfg.Password)
	req.Header.Set("Accept", "application/json")
	if reqBody != nil {
		req.Header.Set("Content-Type", "application/json")
	}

	resp, err := c.http.Do(req)
	if err != nil {
		// *url.Error quotes the whole URL, query (phone numbers) included:
		// report only the cause.
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		if isTimeout(err) {
			outcome = outcomeTimeout
		}
		return fmt.Errorf("ari %s %s: %w", method, path, err)
	}
	defer func() {
		// Drain a little so the keep-alive connection can be reused.
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
		_ = resp.Body.Close()
	}()

	switch {
	case resp.StatusCode >= 200 && resp.StatusCode < 300:
		if out != nil {
			if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
				if isTimeout(err) {
					outcome = outcomeTimeout
				}
				return fmt.Errorf("ari %s %s: HTTP %d: decoding body: %w", method, path, resp.StatusCode, err)
			}
		}
		outcome = outcomeOK
		return nil
	case resp.StatusCode == http.StatusNotFound && notFoundOK:
		outcome = outcomeNotFound
		return nil
	}
	if resp.StatusCode == http.StatusNotFound {
		outcome = outcomeNotFound
	}
	herr := &HTTPError{Method: method, Path: path, Status: resp.StatusCode}
	var body struct {
		Message string `json:"message"`
	}
	if raw, _ := io.ReadAll(io.LimitReader(resp.Body, 4<<10)); json.Unmarshal(raw, &body) == nil {
		herr.Message = body.Message
	}
	return fmt.Errorf("ariedge %s: %w", op, herr)
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.Is(err, context.DeadlineExceeded) || (errors.As(err, &ne) && ne.Timeout())
}

// seg escapes one path segment (ids are ours, but never trust them in a URL).
func seg(s string) string { return url.PathEscape(s) }

// Channel returns a handle on one channel; it does not check that the
// channel exists.
func (c *Client) Channel(id string) ivr.Channel { return &channel{c: c, id: id} }

// channel implements ivr.Channel with ARI's /channels resource.
type channel struct {
	c  *Client
	id string
}

func (ch *channel) ID() string { return ch.id }

func (ch *channel) path(suffix string) string { return "/channels/" + seg(ch.id) + suffix }

func (ch *channel) Answer(ctx context.Context) error {
	return ch.c.do(ctx, "answer", http.MethodPost, ch.path("/answer"), nil, false, nil)
}

// Hangup is idempotent: a channel that is already gone (404) is not an error.
func (ch *channel) Hangup(ctx context.Context) error {
	return ch.c.do(ctx, "hangup", http.MethodDelete, ch.path(""), url.Values{"reason": {"normal"}}, true, nil)
}

func (ch *channel) Play(ctx context.Context, playbackID string, media ...string) error {
	if len(media) == 0 {
		return errors.New("ariedge play: no media")
	}
	// One media parameter, the URIs joined by commas: Asterisk reads a
	// repeated media= as the last one only, so a list sent that way played
	// just its last prompt (the welcome, and all but the last digit of a
	// number, went unheard).
	for _, m := range media {
		if strings.Contains(m, ",") {
			return fmt.Errorf("ariedge play: media URI %q has a comma", m)
		}
	}
	return ch.c.do(ctx, "play", http.MethodPost, ch.path("/play/"+seg(playbackID)), url.Values{"media": {strings.Join(media, ",")}}, false, nil)
}

// StopPlayback is idempotent: a playback that already finished (404) is not an error.
func (ch *channel) StopPlayback(ctx context.Context, playbackID string) error {
	return ch.c.do(ctx, "stop_playback", http.MethodDelete, "/playbacks/"+seg(playbackID), nil, true, nil)
}

func (ch *channel) StartMOH(ctx context.Context, class string) error {
	var q url.Values
	if class != "" {
		q = url.Values{"mohClass": {class}}
	}
	return ch.c.do(ctx, "start_moh", http.MethodPost, ch.path("/moh"), q, false, nil)
}

// StopMOH is idempotent: a channel that is gone (404) is not an error.
func (ch *channel) StopMOH(ctx context.Context) error {
	return ch.c.do(ctx, "stop_moh", http.MethodDelete, ch.path("/moh"), nil, true, nil)
}

// SetVar sets a channel variable or dialplan function (ivr.VarSetter).
func (ch *channel) SetVar(ctx context.Context, name, value string) error {
	return ch.c.do(ctx, "set_var", http.MethodPost, ch.path("/variable"), url.Values{"variable": {name}, "value": {value}}, false, nil)
}

// Originate creates the channel req.ChannelID dialling req.Endpoint; when
// answered it enters our application with req.AppArgs (StasisStart, which a
// subscriber of req.ChannelID receives as EvAnswered).
func (c *Client) Originate(ctx context.Context, req ivr.OriginateRequest) error {
	if req.ChannelID == "" || req.Endpoint == "" {
		return errors.New("ariedge originate: ChannelID and Endpoint are required")
	}
	q := url.Values{"endpoint": {req.Endpoint}, "app": {c.cfg.App}}
	if len(req.AppArgs) > 0 {
		q.Set("appArgs", strings.Join(req.AppArgs, ","))
	}
	if req.CallerID != "" {
		q.Set("callerId", req.CallerID)
	}
	if req.Timeout > 0 {
		// ARI takes whole seconds; round up so a short timeout is not 0 (= default).
		q.Set("timeout", strconv.Itoa(int((req.Timeout+time.Second-1)/time.Second)))
	}
	return c.do(ctx, "originate", http.MethodPost, "/channels/"+seg(req.ChannelID), q, false, nil)
}

func (c *Client) CreateBridge(ctx context.Context, bridgeID string) error {
	return c.do(ctx, "create_bridge", http.MethodPost, "/bridges/"+seg(bridgeID), url.Values{"type": {"mixing"}}, false, nil)
}

func (c *Client) AddToBridge(ctx context.Context, bridgeID string, channelIDs ...string) error {
	if len(channelIDs) == 0 {
		return nil
	}
	q := url.Values{"channel": {strings.Join(channelIDs, ",")}}
	return c.do(ctx, "add_to_bridge", http.MethodPost, "/bridges/"+seg(bridgeID)+"/addChannel", q, false, nil)
}

// DestroyBridge is idempotent: a bridge that is gone (404) is not an error.
func (c *Client) DestroyBridge(ctx context.Context, bridgeID string) error {
	return c.do(ctx, "destroy_bridge", http.MethodDelete, "/bridges/"+seg(bridgeID), nil, true, nil)
}

// EndpointOnline reports whether tech/resource is in state "online". An
// endpoint Asterisk does not know (404) is offline, not an error.
func (c *Client) EndpointOnline(ctx context.Context, tech, resource string) (bool, error) {
	online, _, err := c.EndpointStatus(ctx, tech, resource)
	return online, err
}

// EndpointStatus reports whether a device is registered and reachable, and
// whether it has a call already: a channel on the endpoint that we did not
// place (an agent who dialled out, or a second line). A busy agent is not
// offered a caller. An unknown endpoint is offline.
func (c *Client) EndpointStatus(ctx context.Context, tech, resource string) (online, busy bool, err error) {
	var ep struct {
		State      string   `json:"state"`
		ChannelIDs []string `json:"channel_ids"`
	}
	err = c.do(ctx, "endpoint", http.MethodGet, "/endpoints/"+seg(tech)+"/"+seg(resource), nil, false, &ep)
	if errors.Is(err, ErrNotFound) {
		return false, false, nil
	}
	if err != nil {
		return false, false, err
	}
	return ep.State == "online", len(ep.ChannelIDs) > 0, nil
}

// ListChannels lists the channels currently in our Stasis application.
// Two requests whatever the number of calls: the application's channel ids,
// then every channel (one GET per channel made the reconciliation, every
// few seconds, cost Asterisk and us a request per call in progress).
// Channels that vanish between the two requests are skipped.
func (c *Client) ListChannels(ctx context.Context) ([]ivr.ChannelInfo, error) {
	var app struct {
		ChannelIDs []string `json:"channel_ids"`
	}
	if err := c.do(ctx, "get_application", http.MethodGet, "/applications/"+seg(c.cfg.App), nil, false, &app); err != nil {
		return nil, err
	}
	if len(app.ChannelIDs) == 0 {
		return []ivr.ChannelInfo{}, nil
	}
	var all []ari.ChannelData
	if err := c.do(ctx, "list_channels", http.MethodGet, "/channels", nil, false, &all); err != nil {
		return nil, err
	}
	byID := make(map[string]*ari.ChannelData, len(all))
	for i := range all {
		byID[all[i].ID] = &all[i]
	}
	infos := make([]ivr.ChannelInfo, 0, len(app.ChannelIDs))
	for _, id := range app.ChannelIDs {
		if d, ok := byID[id]; ok {
			infos = append(infos, channelInfo(d))
		}
	}
	return infos, nil
}

// snoopDirs are the directions ARI accepts for spy and whisper.
var snoopDirs = map[string]bool{"none": true, "in": true, "out": true, "both": true}

// Snoop creates the snoop channel req.SnoopID on req.ChannelID in our
// application (ARI POST /channels/{id}/snoop); it enters Stasis at once.
func (c *Client) Snoop(ctx context.Context, req ivr.SnoopRequest) error {
	if req.ChannelID == "" || req.SnoopID == "" {
		return errors.New("ariedge snoop: ChannelID and SnoopID are required")
	}
	spy, whisper := req.Spy, req.Whisper
	if spy == "" {
		spy = "none"
	}
	if whisper == "" {
		whisper = "none"
	}
	if !snoopDirs[spy] || !snoopDirs[whisper] {
		return fmt.Errorf("ariedge snoop: bad direction spy=%q whisper=%q", spy, whisper)
	}
	q := url.Values{"app": {c.cfg.App}, "spy": {spy}, "whisper": {whisper}, "snoopId": {req.SnoopID}}
	if len(req.AppArgs) > 0 {
		q.Set("appArgs", strings.Join(req.AppArgs, ","))
	}
	return c.do(ctx, "snoop", http.MethodPost, "/channels/"+seg(req.ChannelID)+"/snoop", q, false, nil)
}

// RecordBridge starts recording a bridge's mixed audio (ivr.Recorder):
// ARI POST /bridges/{id}/record, WAV, no beep, no time or silence limit,
// refused if a recording of that name exists. Asterisk writes the file to
// <astspooldir>/recording/<name>.wav.
func (c *Client) RecordBridge(ctx context.Context, bridgeID, name string) error {
	if bridgeID == "" || !validRecordingName(name) {
		return fmt.Errorf("ariedge record: bridge %q, name %q: a bridge id and a name of letters, digits, '.', '_', '-' are required", bridgeID, name)
	}
	q := url.Values{"name": {name}, "format": {"wav"}, "ifExists": {"fail"}, "beep": {"false"},
		"maxDurationSeconds": {"0"}, "maxSilenceSeconds": {"0"}, "terminateOn": {"none"}}
	return c.do(ctx, "record_bridge", http.MethodPost, "/bridges/"+seg(bridgeID)+"/record", q, false, nil)
}

// StopRecording ends a live recording and keeps the file (ivr.Recorder):
// ARI POST /recordings/live/{name}/stop. A recording that already ended
// (404: its bridge was destroyed, which ends it) is not an error.
func (c *Client) StopRecording(ctx context.Context, name string) error {
	if !validRecordingName(name) {
		return fmt.Errorf("ariedge stop recording: bad name %q", name)
	}
	return c.do(ctx, "stop_recording", http.MethodPost, "/recordings/live/"+seg(name)+"/stop", nil, true, nil)
}

// validRecordingName keeps names to one path segment Asterisk stores as a
// file name: no '/', no "..", nothing to escape.
func validRecordingName(name string) bool {
	if name == "" || len(name) > 200 || name[0] == '.' {
		return false
	}
	for _, r := range name {
		if !(r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r == '.' || r == '_' || r == '-') {
			return false
		}
	}
	return true
}
