package kamailio

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// fake is a JSON-RPC server answering each method with a canned reply.
type fake struct {
	replies map[string]string // method -> raw JSON reply body ("" = 500 page)
	delay   time.Duration
	calls   []string
}

func (f *fake) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Method string `json:"method"`
		Params []any  `json:"params"`
		ID     int64  `json:"id"`
	}
	if r.Method != http.MethodPost || json.NewDecoder(r.Body).Decode(&req) != nil {
		http.Error(w, "bad request", 400)
		return
	}
	f.calls = append(f.calls, req.Method+" "+strings.Trim(strings.Join(strings.Fields(strings.Trim(jsonOf(req.Params), "[]")), ""), " "))
	if f.delay > 0 {
		select {
		case <-time.After(f.delay):
		case <-r.Context().Done():
			return
		}
	}
	body, ok := f.replies[req.Method]
	if !ok || body == "" {
		http.Error(w, "internal", 500)
		return
	}
	if strings.Contains(body, `"error":{"code":`) {
		// Kamailio answers an RPC error with its code as the HTTP status.
		var e struct{ Error struct{ Code int } }
		_ = json.Unmarshal([]byte(body), &e)
		w.WriteHeader(e.Error.Code)
	}
	_, _ = w.Write([]byte(body))
}

func jsonOf(v any) string { b, _ := json.Marshal(v); return string(b) }

const (
	notFound   = `{"jsonrpc":"2.0","error":{"code":500,"message":"AOR not found in location table"},"id":1}`
	registered = `{"jsonrpc":"2.0","result":{"AoR":"1001","Contacts":[{"Contact":{"Address":"sip:1001@127.0.0.1:5193","Expires":3581}}]},"id":1}`
	expired    = `{"jsonrpc":"2.0","result":{"AoR":"1001","Contacts":[{"Contact":{"Address":"sip:1001@127.0.0.1:5193","Expires":"expired"}}]},"id":1}`
	permanent  = `{"jsonrpc":"2.0","result":{"AoR":"1001","Contacts":[{"Contact":{"Address":"sip:1001@10.0.0.9","Expires":"permanent"}}]},"id":1}`
	idle       = `{"jsonrpc":"2.0","result":0,"id":2}`
	onACall    = `{"jsonrpc":"2.0","result":1,"id":2}`
)

func TestStatus(t *testing.T) {
	for _, tc := range []struct {
		name             string
		lookup, profile  string
		registered, busy bool
		err              string
	}{
		{"not registered", notFound, idle, false, false, ""},
		{"registered and idle", registered, idle, true, false, ""},
		{"registered on a call", registered, onACall, true, true, ""},
		{"only an expired contact", expired, idle, false, false, ""},
		{"permanent contact", permanent, idle, true, false, ""},
		{"not registered but a call is up", notFound, onACall, false, true, ""},
		{"usrloc error", `{"jsonrpc":"2.0","error":{"code":500,"message":"Table not found"},"id":1}`, idle, false, false, "Table not found"},
		{"profile error", registered, `{"jsonrpc":"2.0","error":{"code":400,"message":"Invalid profile"},"id":1}`, false, false, "Invalid profile"},
		{"HTTP error", "", idle, false, false, "HTTP 500"},
		{"not JSON", `<html>`, idle, false, false, "bad reply"},
		{"no result", `{"jsonrpc":"2.0","id":1}`, idle, false, false, "without result"},
		{"wrong result type", registered, `{"jsonrpc":"2.0","result":"many","id":1}`, false, false, "decode result"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := &fake{replies: map[string]string{"ul.lookup": tc.lookup, "dlg.profile_get_size": tc.profile}}
			srv := httptest.NewServer(f)
			defer srv.Close()
			c := New(srv.URL+"/RPC", time.Second)
			reg, busy, err := c.Status(context.Background(), "1001")
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("err %v; want %q", err, tc.err)
				}
				if reg || busy {
					t.Fatalf("on error: registered %v busy %v; want false, false", reg, busy)
				}
				return
			}
			if err != nil || reg != tc.registered || busy != tc.busy {
				t.Fatalf("Status = %v, %v, %v; want %v, %v", reg, busy, err, tc.registered, tc.busy)
			}
			want := []string{`ul.lookup "location","1001"`, `dlg.profile_get_size "agent","1001"`}
			if strings.Join(f.calls, "|") != strings.Join(want, "|") {
				t.Fatalf("calls %q; want %q", f.calls, want)
			}
		})
	}
}

// An RPC error is ErrRPC; a transport failure is not.
func TestErrorKinds(t *testing.T) {
	f := &fake{replies: map[string]string{"ul.lookup": `{"jsonrpc":"2.0","error":{"code":500,"message":"Table not found"},"id":1}`}}
	srv := httptest.NewServer(f)
	_, err := New(srv.URL, time.Second).Registered(context.Background(), "1001")
	var re *RPCError
	if !errors.Is(err, ErrRPC) || !errors.As(err, &re) || re.Method != "ul.lookup" || re.Code != 500 {
		t.Fatalf("rpc error: %#v", err)
	}
	srv.Close()
	if _, err := New(srv.URL, time.Second).Registered(context.Background(), "1001"); err == nil || errors.Is(err, ErrRPC) {
		t.Fatalf("closed server: %v", err)
	}
}

// A Kamailio that does not answer costs at most the client's timeout, even
// when the caller's context has none.
func TestTimeoutBoundsTheQuestion(t *testing.T) {
	f := &fake{replies: map[string]string{"ul.lookup": registered, "dlg.profile_get_size": idle}, delay: 5 * time.Second}
	srv := httptest.NewServer(f)
	defer srv.Close()
	c := New(srv.URL, 100*time.Millisecond)
	start := time.Now()
	reg, busy, err := c.Status(context.Background(), "1001")
	if err == nil || reg || busy {
		t.Fatalf("Status = %v %v %v; want an error", reg, busy, err)
	}
	if took := time.Since(start); took > 2*time.Second {
		t.Fatalf("took %s; the timeout is 100ms", took)
	}
}

func TestNodes(t *testing.T) {
	f := &fake{replies: map[string]string{"dispatcher.list": `{"jsonrpc":"2.0","result":{"NRSETS":2,"RECORDS":[` +
		`{"SET":{"ID":1,"TARGETS":[{"DEST":{"URI":"sip:127.0.0.3:5060","FLAGS":"IP","PRIORITY":0}},{"DEST":{"URI":"sip:127.0.0.2:5060","FLAGS":"AP","PRIORITY":0}},{"DEST":{"URI":"sip:127.0.0.4:5060","FLAGS":"DX","PRIORITY":0}},{"DEST":{"URI":"sip:127.0.0.5:5060","FLAGS":"TP","PRIORITY":0}}]}},` +
		`{"SET":{"ID":7,"TARGETS":[{"DEST":{"URI":"sip:10.0.0.1:5060","FLAGS":"AP","PRIORITY":0}}]}}]},"id":1}`}}
	srv := httptest.NewServer(f)
	defer srv.Close()
	nodes, err := New(srv.URL, time.Second).Nodes(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	want := []Node{{"sip:127.0.0.3:5060", "IP", "inactive", true}, {"sip:127.0.0.2:5060", "AP", "active", true},
		{"sip:127.0.0.4:5060", "DX", "disabled", false}, {"sip:127.0.0.5:5060", "TP", "trying", true}}
	if len(nodes) != len(want) {
		t.Fatalf("nodes %+v", nodes)
	}
	for i := range want {
		if nodes[i] != want[i] {
			t.Errorf("node %d: %+v; want %+v", i, nodes[i], want[i])
		}
		if got, want := nodes[i].TakesCalls(), want[i].State == "active" || want[i].State == "trying"; got != want {
			t.Errorf("node %d takes calls: %v", i, got)
		}
	}
}

// The switch-shaped methods answer for the agent, whatever the technology.
func TestSwitchShape(t *testing.T) {
	f := &fake{replies: map[string]string{"ul.lookup": registered, "dlg.profile_get_size": onACall}}
	srv := httptest.NewServer(f)
	defer srv.Close()
	c := New(srv.URL, time.Second)
	online, busy, err := c.EndpointStatus(context.Background(), "PJSIP", "1001")
	if err != nil || !online || !busy {
		t.Fatalf("EndpointStatus = %v %v %v", online, busy, err)
	}
	online, err = c.EndpointOnline(context.Background(), "PJSIP", "1001")
	if err != nil || !online {
		t.Fatalf("EndpointOnline = %v %v", online, err)
	}
}
