//go:build e2e

package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"testing"
	"time"

	"github.com/hotline95598/hotline/callbacks"
	"github.com/hotline95598/hotline/policy"
	"github.com/redis/go-redis/v9"
)

// Every test starts from the same hotline, whatever ran before it (go test
// -shuffle on): loadEnv resets what tests share through the API and Redis,
// not by restarting the stack. No call is left in Asterisk (a sipp killed
// by a failed test leaves its channel up), no callback is pending or being
// placed (it would ring the carrier side of this test), no agent is logged
// in and every agent has no skills, no notice or outage is in force, and
// every queue is empty.
func (e *Env) reset(t *testing.T) {
	t.Helper()
	awaitHealthy(t, e.HTTP, 60*time.Second)
	rdb := redis.NewClient(&redis.Options{Addr: envValue(t, "HOTLINE_REDIS_ADDR"), Password: envValue(t, "HOTLINE_REDIS_PASSWORD")})
	defer rdb.Close()
	prefix := redisPrefix(t)
	cbs := callbacks.NewStore(rdb, prefix, policy.CallbackPolicy{}, nil)
	ctx := context.Background()

	// Calls and callbacks: hang every channel up, cancel what the hang-ups
	// promised, until nothing is left to do. The controller promises a
	// callback as it ends a call, a moment after the channel is gone: the
	// reset is done when two rounds in a row find no channel, no callback
	// due or being placed, and no call the controller still handles. (A
	// hotline_calls_active that stays up with nothing else left, a leak,
	// is logged after 10 s and does not hold the test.)
	deadline := time.Now().Add(60 * time.Second)
	var idleSince, activeSince time.Time
	for round := 0; ; round++ {
		var chans []struct{ ID string }
		e.ari(t, "/channels", &chans)
		for _, ch := range chans {
			e.ariDelete(t, "/channels/"+ch.ID)
		}
		due, err := rdb.ZRange(ctx, prefix+"callbacks:due", 0, -1).Result()
		if err != nil {
			t.Fatalf("reset: pending callbacks: %v", err)
		}
		for _, id := range due {
			if cb, err := cbs.Get(ctx, id); err == nil {
				_, _ = cbs.CancelServed(ctx, cb.Phone, cb.Kind)
			}
		}
		placing, _ := rdb.ZCard(ctx, prefix+"callbacks:placing").Result()
		active := e.metric(t, "hotline_calls_active")
		clear := len(chans) == 0 && len(due) == 0 && placing == 0
		switch {
		case !clear:
			idleSince, activeSince = time.Time{}, time.Time{}
		case active != 0 && activeSince.IsZero():
			activeSince = time.Now()
		case active != 0 && time.Since(activeSince) > 10*time.Second:
			t.Logf("reset: hotline_calls_active is %v with no channel in Asterisk", active)
			active = 0
		}
		if clear && active == 0 {
			if !idleSince.IsZero() {
				if round > 1 {
					t.Logf("reset: hung up calls and cancelled callbacks left by earlier tests (%d rounds)", round)
				}
				break
			}
			idleSince = time.Now()
		} else {
			idleSince = time.Time{}
		}
		if time.Now().After(deadline) {
			t.Fatalf("reset: after 60 s still %d channels, %d callbacks due, %d being placed, %v calls active",
				len(chans), len(due), placing, active)
		}
		time.Sleep(200 * time.Millisecond)
	}

	// Agents: logged out (once no call holds them), generalists.
	eventually(t, 20*time.Second, "no agent ringing or on a call", func() bool {
		var list struct{ Agents []agent }
		e.api(t, "GET", "/api/v1/agents", &list)
		for _, a := range list.Agents {
			if a.State == "ringing" || a.State == "on_call" {
				return false
			}
		}
		return true
	})
	e.logoutAll(t)
	for id := range e.Agents {
		if code := e.putSkills(t, id, map[string]int{}); code != 200 {
			t.Fatalf("reset: skills of %s: %d", id, code)
		}
	}

	// Notices and outages.
	var ns struct{ Notices []noticeView }
	e.api(t, "GET", "/api/v1/notices", &ns)
	for _, n := range ns.Notices {
		if n.WithdrawnAt == "" {
			e.withdrawNotice(t, n.ID)
		}
	}
	var os struct{ Outages []struct{ ID string } }
	e.api(t, "GET", "/api/v1/outages", &os)
	for _, o := range os.Outages {
		e.api(t, http.MethodDelete, "/api/v1/outages/"+o.ID, nil)
	}

	// Queues: empty, as every replica sees them.
	eventually(t, 20*time.Second, "every queue empty", func() bool {
		var snap struct{ Queues []struct{ Waiting int } }
		if e.api(t, "GET", "/wallboard/snapshot.json", &snap) != 200 {
			return false
		}
		for _, q := range snap.Queues {
			if q.Waiting != 0 {
				return false
			}
		}
		return true
	})
}

// putSkills sets an agent's skills ({} makes them a generalist again).
func (e *Env) putSkills(t *testing.T, id string, skills map[string]int) int {
	t.Helper()
	raw, _ := json.Marshal(map[string]any{"skills": skills})
	req, _ := http.NewRequest("PUT", e.HTTP+"/api/v1/agents/"+id+"/skills", bytes.NewReader(raw))
	req.Header.Set("Authorization", "Bearer "+e.Token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

// ariDelete sends DELETE to ARI (a channel gone already is no error).
func (e *Env) ariDelete(t *testing.T, path string) {
	t.Helper()
	req, _ := http.NewRequest("DELETE", e.ARI+path, nil)
	req.SetBasicAuth(e.ARIUser, e.ARIPass)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("ARI DELETE %s: %v", path, err)
	}
	resp.Body.Close()
	if resp.StatusCode >= 300 && resp.StatusCode != 404 {
		t.Logf("ARI DELETE %s: %d", path, resp.StatusCode)
	}
}
