package ariedge

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/hotline95598/hotline/ivr"
)

func newRESTClient(t *testing.T) (*fakeARI, *Client) {
	f := newFakeARI(t)
	return f, f.net.client(t, testConfig(), nil)
}

// (f) Each operation sends the ARI request it should.
func TestRESTRequests(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		name   string
		call   func(c *Client) error
		method string
		path   string
		query  url.Values
	}{
		{"answer", func(c *Client) error { return c.Channel("ch1").Answer(ctx) },
			"POST", "/ari/channels/ch1/answer", url.Values{}},
		{"hangup", func(c *Client) error { return c.Channel("ch1").Hangup(ctx) },
			"DELETE", "/ari/channels/ch1", url.Values{"reason": {"normal"}}},
		{"play two media", func(c *Client) error {
			return c.Channel("ch1").Play(ctx, "pb1", "sound:hotline/welcome", "sound:hotline/menu")
		}, "POST", "/ari/channels/ch1/play/pb1", url.Values{"media": {"sound:hotline/welcome,sound:hotline/menu"}}},
		{"stop playback", func(c *Client) error { return c.Channel("ch1").StopPlayback(ctx, "pb1") },
			"DELETE", "/ari/playbacks/pb1", url.Values{}},
		{"start moh", func(c *Client) error { return c.Channel("ch1").StartMOH(ctx, "queue") },
			"POST", "/ari/channels/ch1/moh", url.Values{"mohClass": {"queue"}}},
		{"stop moh", func(c *Client) error { return c.Channel("ch1").StopMOH(ctx) },
			"DELETE", "/ari/channels/ch1/moh", url.Values{}},
		{"set volume", func(c *Client) error { return c.Channel("ch1").(ivr.VarSetter).SetVar(ctx, "VOLUME(TX)", "2") },
			"POST", "/ari/channels/ch1/variable", url.Values{"variable": {"VOLUME(TX)"}, "value": {"2"}}},
		{"originate", func(c *Client) error {
			return c.Originate(ctx, ivr.OriginateRequest{ChannelID: "cb-1", Endpoint: "PJSIP/13800138000@carrier",
				CallerID: "95598", Timeout: 29500 * time.Millisecond, AppArgs: []string{"callback", "t42"}})
		}, "POST", "/ari/channels/cb-1", url.Values{"endpoint": {"PJSIP/13800138000@carrier"}, "app": {"hotline"},
			"appArgs": {"callback,t42"}, "callerId": {"95598"}, "timeout": {"30"}}},
		{"create bridge", func(c *Client) error { return c.CreateBridge(ctx, "br1") },
			"POST", "/ari/bridges/br1", url.Values{"type": {"mixing"}}},
		{"add to bridge", func(c *Client) error { return c.AddToBridge(ctx, "br1", "a", "b") },
			"POST", "/ari/bridges/br1/addChannel", url.Values{"channel": {"a,b"}}},
		{"destroy bridge", func(c *Client) error { return c.DestroyBridge(ctx, "br1") },
			"DELETE", "/ari/bridges/br1", url.Values{}},
		{"snoop whisper to the agent", func(c *Client) error {
			return c.Snoop(ctx, ivr.SnoopRequest{ChannelID: "c1-agent-1", SnoopID: "c1-agent-snoop1", Spy: "both", Whisper: "out",
				AppArgs: []string{"monitor", "2001", "c1"}})
		}, "POST", "/ari/channels/c1-agent-1/snoop", url.Values{"app": {"hotline"}, "spy": {"both"}, "whisper": {"out"},
			"snoopId": {"c1-agent-snoop1"}, "appArgs": {"monitor,2001,c1"}}},
		{"record a bridge", func(c *Client) error { return c.RecordBridge(ctx, "br-c1", "20261122-103000-c1") },
			"POST", "/ari/bridges/br-c1/record", url.Values{"name": {"20261122-103000-c1"}, "format": {"wav"}, "ifExists": {"fail"},
				"beep": {"false"}, "maxDurationSeconds": {"0"}, "maxSilenceSeconds": {"0"}, "terminateOn": {"none"}}},
		{"stop a recording", func(c *Client) error { return c.StopRecording(ctx, "20261122-103000-c1") },
			"POST", "/ari/recordings/live/20261122-103000-c1/stop", url.Values{}},
		{"snoop listen only", func(c *Client) error {
			return c.Snoop(ctx, ivr.SnoopRequest{ChannelID: "c1-agent-1", SnoopID: "s1", Spy: "both"})
		}, "POST", "/ari/channels/c1-agent-1/snoop", url.Values{"app": {"hotline"}, "spy": {"both"}, "whisper": {"none"},
			"snoopId": {"s1"}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f, c := newRESTClient(t)
			if err := tc.call(c); err != nil {
				t.Fatalf("err = %v", err)
			}
			reqs := f.requests()
			if len(reqs) != 1 {
				t.Fatalf("%d requests, want 1: %+v", len(reqs), reqs)
			}
			r := reqs[0]
			if r.Method != tc.method || r.Path != tc.path || !reflect.DeepEqual(r.Query, tc.query) {
				t.Errorf("request %s %s ?%v, want %s %s ?%v", r.Method, r.Path, r.Query, tc.method, tc.path, tc.query)
			}
			if r.User != "hotline" || r.Pass != "s3cret" {
				t.Errorf("basic auth %q:%q", r.User, r.Pass)
			}
		})
	}
}

// A 404 is success for idempotent teardown, an error otherwise; errors name
// method, path and status, and match ErrNotFound.
func TestRESTNotFound(t *testing.T) {
	ctx := context.Background()
	gone := jsonReply(http.StatusNotFound, map[string]string{"message": "Channel not found"})
	for _, tc := range []struct {
		name    string
		route   string
		call    func(c *Client) error
		wantErr string // "" for nil
	}{
		{"hangup", "DELETE /ari/channels/x", func(c *Client) error { return c.Channel("x").Hangup(ctx) }, ""},
		{"stop playback", "DELETE /ari/playbacks/p", func(c *Client) error { return c.Channel("x").StopPlayback(ctx, "p") }, ""},
		{"stop moh", "DELETE /ari/channels/x/moh", func(c *Client) error { return c.Channel("x").StopMOH(ctx) }, ""},
		{"destroy bridge", "DELETE /ari/bridges/b", func(c *Client) error { return c.DestroyBridge(ctx, "b") }, ""},
		{"stop a recording that ended", "POST /ari/recordings/live/r1/stop", func(c *Client) error { return c.StopRecording(ctx, "r1") }, ""},
		{"record a bridge that is gone", "POST /ari/bridges/b/record", func(c *Client) error { return c.RecordBridge(ctx, "b", "r1") },
			"ari POST /bridges/b/record: HTTP 404"},
		{"answer", "POST /ari/channels/x/answer", func(c *Client) error { return c.Channel("x").Answer(ctx) },
			"ari POST /channels/x/answer: HTTP 404: Channel not found"},
		{"play", "POST /ari/channels/x/play/p", func(c *Client) error { return c.Channel("x").Play(ctx, "p", "sound:a") },
			"ari POST /channels/x/play/p: HTTP 404"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f, c := newRESTClient(t)
			f.route(tc.route, gone)
			err := tc.call(c)
			if tc.wantErr == "" {
				if err != nil {
					t.Fatalf("err = %v, want nil", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("err = %v, want it to contain %q", err, tc.wantErr)
			}
			var he *HTTPError
			if !errors.Is(err, ErrNotFound) || !errors.As(err, &he) || he.Status != 404 {
				t.Errorf("err = %#v, want an *HTTPError matching ErrNotFound", err)
			}
		})
	}
}

func TestRESTServerError(t *testing.T) {
	f, c := newRESTClient(t)
	f.route("POST /ari/channels/cb-1", jsonReply(http.StatusInternalServerError, map[string]string{"message": "Allocation failed"}))
	err := c.Originate(context.Background(), ivr.OriginateRequest{ChannelID: "cb-1", Endpoint: "PJSIP/13800138000@carrier"})
	var he *HTTPError
	if !errors.As(err, &he) || he.Status != 500 || he.Method != "POST" || he.Path != "/channels/cb-1" {
		t.Fatalf("err = %v", err)
	}
	if strings.Contains(err.Error(), "13800138000") {
		t.Errorf("error leaks the dialled number: %v", err)
	}
}

func TestEndpointOnline(t *testing.T) {
	for _, tc := range []struct {
		name  string
		reply http.HandlerFunc
		want  bool
	}{
		{"online", jsonReply(200, map[string]any{"technology": "PJSIP", "resource": "1001", "state": "online", "channel_ids": []string{}}), true},
		{"offline", jsonReply(200, map[string]any{"technology": "PJSIP", "resource": "1001", "state": "offline"}), false},
		{"unknown endpoint", jsonReply(404, map[string]any{"message": "Endpoint not found"}), false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f, c := newRESTClient(t)
			f.route("GET /ari/endpoints/PJSIP/1001", tc.reply)
			got, err := c.EndpointOnline(context.Background(), "PJSIP", "1001")
			if err != nil || got != tc.want {
				t.Errorf("EndpointOnline = %v, %v; want %v, nil", got, err, tc.want)
			}
		})
	}
	f, c := newRESTClient(t)
	f.route("GET /ari/endpoints/PJSIP/1001", jsonReply(500, nil))
	if _, err := c.EndpointOnline(context.Background(), "PJSIP", "1001"); err == nil {
		t.Error("EndpointOnline on HTTP 500 = nil error")
	}
}

func TestEndpointStatusBusy(t *testing.T) {
	for _, tc := range []struct {
		name         string
		channels     []string
		online, busy bool
	}{
		{"idle", []string{}, true, false},
		{"on another call", []string{"1795345960.7"}, true, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f, c := newRESTClient(t)
			f.route("GET /ari/endpoints/PJSIP/1001", jsonReply(200, map[string]any{"technology": "PJSIP", "resource": "1001", "state": "online", "channel_ids": tc.channels}))
			online, busy, err := c.EndpointStatus(context.Background(), "PJSIP", "1001")
			if err != nil || online != tc.online || busy != tc.busy {
				t.Errorf("EndpointStatus = %v, %v, %v; want %v, %v", online, busy, err, tc.online, tc.busy)
			}
		})
	}
}

func TestListChannels(t *testing.T) {
	f, c := newRESTClient(t)
	f.route("GET /ari/applications/hotline", jsonReply(200, map[string]any{
		"name": "hotline", "channel_ids": []string{"a", "gone", "b"}, "bridge_ids": []string{}, "endpoint_ids": []string{}, "device_names": []string{},
	}))
	// "gone" hung up between the two requests; "other" is in another application.
	f.route("GET /ari/channels", jsonReply(200, []any{chanJSON("b", "1001"), chanJSON("other", "13900000000"), chanJSON("a", "13812345678")}))

	got, err := c.ListChannels(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	created, _ := time.Parse("2006-01-02T15:04:05.000-0700", ts)
	if len(got) != 2 {
		t.Fatalf("got %d channels, want 2: %+v", len(got), got)
	}
	for i, want := range []ivr.ChannelInfo{
		{ID: "a", Name: "PJSIP/trunk-00000001", State: "Ring", CallerNum: "13812345678", CallerName: "Zhang San", Exten: "95598", Created: created},
		{ID: "b", Name: "PJSIP/trunk-00000001", State: "Ring", CallerNum: "1001", CallerName: "Zhang San", Exten: "95598", Created: created},
	} {
		g := got[i]
		if !g.Created.Equal(want.Created) {
			t.Errorf("channel %d Created = %v, want %v", i, g.Created, want.Created)
		}
		g.Created, want.Created = time.Time{}, time.Time{}
		if g != want {
			t.Errorf("channel %d = %+v, want %+v", i, g, want)
		}
	}

	if n := len(f.requests()); n != 2 {
		t.Errorf("%d requests for 3 channels; want 2 (the application, then every channel at once)", n)
	}

	f.route("GET /ari/channels", jsonReply(500, nil))
	if _, err := c.ListChannels(context.Background()); err == nil {
		t.Error("ListChannels on HTTP 500 listing channels = nil error")
	}
	f.route("GET /ari/applications/hotline", jsonReply(500, nil))
	if _, err := c.ListChannels(context.Background()); err == nil {
		t.Error("ListChannels on HTTP 500 = nil error")
	}
}

// A direction ARI does not know is refused before any request is sent.
func TestSnoopRejectsBadDirection(t *testing.T) {
	f, c := newRESTClient(t)
	err := c.Snoop(context.Background(), ivr.SnoopRequest{ChannelID: "c1", SnoopID: "s1", Spy: "sideways"})
	if err == nil || len(f.requests()) != 0 {
		t.Fatalf("err = %v, requests %d", err, len(f.requests()))
	}
}

// The client implements ivr.Recorder, and refuses names that would escape
// Asterisk's recording directory or need escaping, before any request.
func TestRecorderNames(t *testing.T) {
	var _ ivr.Recorder = (*Client)(nil)
	ctx := context.Background()
	for _, name := range []string{"", "../etc/passwd", "a/b", ".hidden", "a b", "录音", strings.Repeat("x", 201)} {
		f, c := newRESTClient(t)
		if err := c.RecordBridge(ctx, "br1", name); err == nil {
			t.Errorf("RecordBridge name %q accepted", name)
		}
		if err := c.StopRecording(ctx, name); err == nil {
			t.Errorf("StopRecording name %q accepted", name)
		}
		if n := len(f.requests()); n != 0 {
			t.Errorf("name %q: %d requests sent", name, n)
		}
	}
}
