package httpapi

import (
	"context"
	"strings"
	"testing"

	"github.com/rs/zerolog"

	"github.com/hotline95598/hotline/agents"
	"github.com/hotline95598/hotline/transfer"
)

// ownerAsker stands for the replica that holds the call: it agrees to
// every transfer but one to the fault queue (one is already under way).
type ownerAsker struct{ asked []transfer.Request }

func (o *ownerAsker) Ask(_ context.Context, r transfer.Request) (transfer.Reply, error) {
	o.asked = append(o.asked, r)
	switch r.Kind {
	case transfer.KindConsult:
		return transfer.Reply{OK: true, CallID: r.CallID, FromAgent: "1001", Kind: transfer.KindAttended, ToAgent: r.ToAgent, State: "ringing"}, nil
	case transfer.KindComplete:
		return transfer.Reply{OK: true, CallID: r.CallID, State: "completed"}, nil
	case transfer.KindCancel:
		return transfer.Reply{OK: true, CallID: r.CallID, State: "returned"}, nil
	}
	if r.Queue == "fault" {
		return transfer.Reply{CallID: r.CallID, Error: "a transfer of this call is already under way"}, nil
	}
	return transfer.Reply{OK: true, CallID: r.CallID, FromAgent: "1001", FromQueue: "general", ToQueue: r.Queue}, nil
}

// Who may transfer a call through the API, and the clear errors of a
// request that cannot be done: agent 1001 talks on call c1, agent 1002's
// phone rings for call c2.
func TestTransferAPI(t *testing.T) {
	owner := &ownerAsker{}
	e := newEnvWith(t, func(d *Deps) {
		ctx := context.Background()
		reg := d.Agents.(*agents.Registry)
		for _, step := range []func() error{
			func() error { return reg.Login(ctx, "1001") },
			func() error { _, _, err := reg.ClaimIdle(ctx, "c1"); return err },
			func() error { return reg.Answered(ctx, "1001", "c1") },
			func() error { return reg.Login(ctx, "1002") },
			func() error { _, _, err := reg.ClaimIdle(ctx, "c2"); return err },
		} {
			if err := step(); err != nil {
				t.Fatal(err)
			}
		}
		d.Tokens = testTokens(t)
		d.Transfers = transfer.NewDesk(owner, reg, nil, nil, transfer.Queues(), zerolog.Nop())
	})
	const path = "/api/v1/calls/c1/transfer"
	for _, tc := range []struct {
		who, path, body string
		code            int
		want            string
	}{
		{agent1001Token, path, `{"queue":"billing"}`, 200, `"to_queue":"billing"`},
		{supervisorToken, path, `{"queue":"complaint"}`, 200, `"from_agent":"1001"`},
		{token, path, `{"queue":"senior"}`, 200, `"ok":true`},
		{agent1002Token, path, `{"queue":"billing"}`, 403, "is not the call this agent is on"},
		{agent1002Token, "/api/v1/calls/c2/transfer", `{"queue":"billing"}`, 409, "ringing at agent 1002, not yet talking"},
		{supervisorToken, "/api/v1/calls/c2/transfer", `{"queue":"billing"}`, 409, "not yet talking"},
		{supervisorToken, "/api/v1/calls/c7/transfer", `{"queue":"billing"}`, 409, "no agent is on call c7"},
		{agent1001Token, path, `{"queue":"sales"}`, 400, `unknown queue \"sales\": the queues are fault, billing, complaint, general, senior`},
		{agent1001Token, path, `{"queue":"callback"}`, 400, "unknown queue"},
		{agent1001Token, path, `{"queue":`, 400, "malformed JSON"},
		{agent1001Token, path, `{"queue":"billing","agent":"1002"}`, 400, "or the agent to consult"},
		{agent1001Token, path, `{"queue":"billing","to":"x"}`, 400, "unknown field"},
		{agent1001Token, path, ``, 400, "must name the queue"},
		{agent1001Token, path, `{"queue":"fault"}`, 409, "already under way"},
		{"", path, `{"queue":"billing"}`, 401, "bearer token"},
	} {
		t.Run(tc.path+" "+tc.body, func(t *testing.T) {
			code, body, _ := e.as(t, tc.who, "POST", tc.path, tc.body)
			if code != tc.code || !strings.Contains(body, tc.want) {
				t.Fatalf("%d %s; want %d with %q", code, body, tc.code, tc.want)
			}
		})
	}
	if len(owner.asked) != 4 || owner.asked[0].Agent != "1001" || owner.asked[0].By != "zhang.wei" ||
		owner.asked[1].Agent != "" || owner.asked[1].By != "shift-lead" {
		t.Fatalf("requests that reached the owner: %+v", owner.asked)
	}
	code, body, _ := e.as(t, agent1001Token, "GET", "/api/v1/taxonomy", "")
	if code != 200 || !strings.Contains(body, `"transfer_queues":["fault","billing","complaint","general","senior"]`) {
		t.Fatalf("taxonomy: %d %s", code, body)
	}
}

// The attended transfer through the API: agent 1001 talks on call c1,
// agent 1002 is available, 1003 paused. Consult, complete and cancel
// reach the owner only when in order, with clear errors otherwise.
func TestAttendedTransferAPI(t *testing.T) {
	owner := &ownerAsker{}
	e := newEnvWith(t, func(d *Deps) {
		ctx := context.Background()
		reg := d.Agents.(*agents.Registry)
		for _, step := range []func() error{
			func() error { return reg.Login(ctx, "1001") },
			func() error { _, _, err := reg.ClaimIdle(ctx, "c1"); return err },
			func() error { return reg.Answered(ctx, "1001", "c1") },
			func() error { return reg.Login(ctx, "1002") },
			func() error { return reg.Ensure(ctx, []string{"1003"}) },
		} {
			if err := step(); err != nil {
				t.Fatal(err)
			}
		}
		d.Tokens = testTokens(t)
		d.Transfers = transfer.NewDesk(owner, reg, nil, nil, transfer.Queues(), zerolog.Nop())
	})
	const path = "/api/v1/calls/c1/transfer"
	for _, tc := range []struct {
		who, path, body string
		code            int
		want            string
	}{
		{agent1001Token, "/api/v1/colleagues", "", 200, `{"agents":[{"id":"1002","state":"available"}]}`},
		{agent1001Token, path, `{"agent":"1002"}`, 200, `"kind":"attended"`},
		{agent1001Token, path, `{"agent":"9999"}`, 400, `unknown agent \"9999\"`},
		{agent1001Token, path, `{"agent":"1001"}`, 400, "is the agent on call c1"},
		{agent1001Token, path, `{"agent":"1003"}`, 409, "is logged_out: the agent to consult is not available"},
		{agent1001Token, path, `{"agent":`, 400, "malformed JSON"},
		{agent1002Token, path, `{"agent":"1003"}`, 403, "is not the call this agent is on"},
		{agent1002Token, path + "/complete", "", 403, "is not the call this agent is on"},
		{agent1001Token, path + "/complete", "", 200, `"state":"completed"`},
		{supervisorToken, path + "/cancel", "", 200, `"state":"returned"`},
		{agent1001Token, "/api/v1/calls/c7/transfer/cancel", "", 403, "is not the call this agent is on"},
		{supervisorToken, "/api/v1/calls/c7/transfer/cancel", "", 409, "no agent is on call c7"},
		{agent1001Token, path + "/finish", "", 404, "complete or cancel"},
	} {
		t.Run(tc.path+" "+tc.body, func(t *testing.T) {
			code, body, _ := e.as(t, tc.who, "POST", tc.path, tc.body)
			if tc.body == "" && tc.path == "/api/v1/colleagues" {
				code, body, _ = e.as(t, tc.who, "GET", tc.path, "")
			}
			if code != tc.code || !strings.Contains(body, tc.want) {
				t.Fatalf("%d %s; want %d with %q", code, body, tc.code, tc.want)
			}
		})
	}
	if len(owner.asked) != 3 || owner.asked[0].Kind != transfer.KindConsult || owner.asked[0].ToAgent != "1002" ||
		owner.asked[1].Kind != transfer.KindComplete || owner.asked[2].Kind != transfer.KindCancel || owner.asked[2].Agent != "" {
		t.Fatalf("requests that reached the owner: %+v", owner.asked)
	}
}
