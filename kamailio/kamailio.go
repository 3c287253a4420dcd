// Package kamailio is the controller's client for Kamailio, the SIP edge in
// front of several Asterisk nodes (deploy/kamailio). In a cluster the
// agents' softphones register with Kamailio, not with any Asterisk, and
// Kamailio counts every call to or from each phone (a dialog profile), so
// the questions "is this agent's phone registered?" and "is it on a call?"
// are asked here, over Kamailio's JSON-RPC (HOTLINE_KAMAILIO_RPC), whatever
// node the call is on.
package kamailio

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync/atomic"
	"time"
)

// The names the rendered kamailio.cfg uses.
const (
	// LocationTable is the usrloc table the registrar saves phones in.
	LocationTable = "location"
	// AgentProfile is the dialog profile (with the agent's id as value)
	// every call to or from an agent's phone is counted in.
	AgentProfile = "agent"
	// NodeSet is the dispatcher set of the Asterisk nodes.
	NodeSet = 1
	// AgentHeader carries the authenticated agent on a call an agent's
	// phone places (feature codes); Kamailio removes it from anything
	// else, so a node may trust it.
	AgentHeader = "X-Hotline-Agent"
)

// ErrRPC is an error Kamailio answered (as opposed to a transport failure).
var ErrRPC = errors.New("kamailio: rpc error")

// Client asks one Kamailio over JSON-RPC. It is safe for concurrent use.
type Client struct {
	url     string
	timeout time.Duration
	hc      *http.Client
	id      atomic.Int64
}

// New returns a client for the JSON-RPC URL (e.g. http://127.0.0.1:5071/RPC);
// every question is bounded by timeout, whatever the caller's context says.
func New(url string, timeout time.Duration) *Client {
	if timeout <= 0 {
		timeout = time.Second
	}
	return &Client{url: url, timeout: timeout, hc: &http.Client{Timeout: timeout}}
}

// Status reports whether the agent's phone is registered and whether it is
// on a call (ringing or talking) through the edge, in two RPCs bounded
// together by the client's timeout. On error both answers are false: a
// caller must not be offered to a phone nobody could vouch for.
func (c *Client) Status(ctx context.Context, agent string) (registered, busy bool, err error) {
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	if registered, err = c.Registered(ctx, agent); err != nil {
		return false, false, err
	}
	if busy, err = c.Busy(ctx, agent); err != nil {
		return false, false, err
	}
	return registered, busy, nil
}

// Registered reports whether the agent has a live registration.
func (c *Client) Registered(ctx context.Context, agent string) (bool, error) {
	var res struct {
		Contacts []struct {
			Contact struct {
				Address string `json:"Address"`
				Expires any    `json:"Expires"` // seconds left, or "permanent"
			} `json:"Contact"`
		} `json:"Contacts"`
	}
	err := c.call(ctx, "ul.lookup", []any{LocationTable, agent}, &res)
	var re *RPCError
	if errors.As(err, &re) && strings.HasPrefix(re.Message, "AOR not found") {
		return false, nil // "AOR not found in location table": never registered, or expired
	}
	if err != nil {
		return false, err
	}
	for _, ct := range res.Contacts {
		switch e := ct.Contact.Expires.(type) {
		case float64:
			if e > 0 {
				return true, nil
			}
		case string:
			if e == "permanent" {
				return true, nil
			}
		}
	}
	return false, nil
}

// Busy reports whether a call to or from the agent's phone is in progress
// (early or confirmed) anywhere behind the edge.
func (c *Client) Busy(ctx context.Context, agent string) (bool, error) {
	var n int
	if err := c.call(ctx, "dlg.profile_get_size", []any{AgentProfile, agent}, &n); err != nil {
		return false, err
	}
	return n > 0, nil
}

// Node is one Asterisk node as the dispatcher sees it.
type Node struct {
	URI     string // sip:127.0.0.2:5060
	Flags   string // Kamailio's two letters: A active, T trying, I inactive, D disabled; P probing, X not
	State   string // "active", "trying" (a probe failed; still gets calls), "inactive", "disabled"
	Probing bool   // OPTIONS probes are sent to it
}

// TakesCalls reports whether the dispatcher still sends new calls there.
func (n Node) TakesCalls() bool { return n.State == "active" || n.State == "trying" }

var nodeStates = map[byte]string{'A': "active", 'T': "trying", 'I': "inactive", 'D': "disabled"}

// Nodes lists the dispatcher's Asterisk nodes and their state.
func (c *Client) Nodes(ctx context.Context) ([]Node, error) {
	var res struct {
		Records []struct {
			Set struct {
				ID      int `json:"ID"`
				Targets []struct {
					Dest struct {
						URI   string `json:"URI"`
						Flags string `json:"FLAGS"`
					} `json:"DEST"`
				} `json:"TARGETS"`
			} `json:"SET"`
		} `json:"RECORDS"`
	}
	if err := c.call(ctx, "dispatcher.list", nil, &res); err != nil {
		return nil, err
	}
	var nodes []Node
	for _, r := range res.Records {
		if r.Set.ID != NodeSet {
			continue
		}
		for _, t := range r.Set.Targets {
			f := t.Dest.Flags
			n := Node{URI: t.Dest.URI, Flags: f, State: "unknown", Probing: strings.Contains(f, "P")}
			if st, ok := nodeStates[f[0]]; len(f) > 0 && ok {
				n.State = st
			}
			nodes = append(nodes, n)
		}
	}
	return nodes, nil
}

// EndpointStatus is Status in the shape of the controller's switch
// (agents.statusSwitch): tech is ignored, resource is the agent's id.
func (c *Client) EndpointStatus(ctx context.Context, _ string, resource string) (online, busy bool, err error) {
	return c.Status(ctx, resource)
}

// EndpointOnline is Registered in the shape of ivr.Switch.EndpointOnline.
func (c *Client) EndpointOnline(ctx context.Context, _ string, resource string) (bool, error) {
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	return c.Registered(ctx, resource)
}

// RPCError is an error object in Kamailio's answer.
type RPCError struct {
	Method  string
	Code    int    `json:"code"`
	Message string `json:"message"`
}

func (e *RPCError) Error() string {
	return fmt.Sprintf("kamailio: %s: %d %s", e.Method, e.Code, e.Message)
}

func (e *RPCError) Unwrap() error { return ErrRPC }

// maxReply bounds a reply we read (dispatcher.list of a big set is a few kB).
const maxReply = 1 << 20

func (c *Client) call(ctx context.Context, method string, params []any, out any) error {
	req := map[string]any{"jsonrpc": "2.0", "method": method, "id": c.id.Add(1)}
	if params != nil {
		req["params"] = params
	}
	body, err := json.Marshal(req)
	if err != nil {
		return fmt.Errorf("kamailio: %s: %w", method, err)
	}
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	hr, err := http.NewRequestWithContext(ctx, http.MethodPost, c.url, bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("kamailio: %s: %w", method, err)
	}
	hr.Header.Set("Content-Type", "application/json")
	resp, err := c.hc.Do(hr)
	if err != nil {
		return fmt.Errorf("kamailio: %s: %w", method, err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, maxReply))
	if err != nil {
		return fmt.Errorf("kamailio: %s: read reply: %w", method, err)
	}
	// Kamailio sends an RPC error with the HTTP status of its code (e.g.
	// 500 "AOR not found"), so the body decides, not the status.
	var reply struct {
		Result json.RawMessage `json:"result"`
		Error  *RPCError       `json:"error"`
	}
	if err := json.Unmarshal(raw, &reply); err != nil {
		if resp.StatusCode != http.StatusOK {
			return fmt.Errorf("kamailio: %s: HTTP %d: %.200s", method, resp.StatusCode, raw)
		}
		return fmt.Errorf("kamailio: %s: bad reply %.200q: %w", method, raw, err)
	}
	if reply.Error != nil {
		reply.Error.Method = method
		return reply.Error
	}
	if len(reply.Result) == 0 {
		return fmt.Errorf("kamailio: %s: reply without result: %.200s", method, raw)
	}
	if err := json.Unmarshal(reply.Result, out); err != nil {
		return fmt.Errorf("kamailio: %s: decode result: %w", method, err)
	}
	return nil
}

// Phones are agents' phones registered at Kamailio, as the controller's
// agents.Phones: dialled through the SIP edge, their registration and calls
// in progress asked of Kamailio, so any node sees the same answer.
type Phones struct {
	Client *Client
	Dial   func(agent string) string // the dial string, e.g. config.AgentEndpoint
}

// Endpoint is the dial string of the agent's phone.
func (p Phones) Endpoint(agent string) string { return p.Dial(agent) }

// Status tells whether the phone is registered and already on a call.
func (p Phones) Status(ctx context.Context, agent string) (online, busy bool, err error) {
	return p.Client.Status(ctx, agent)
}
