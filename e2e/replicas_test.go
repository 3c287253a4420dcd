//go:build e2e

package e2e

import (
	"context"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// Two controller replicas on one Asterisk and one Redis: each has its own
// ARI application (deploy/test/replica2.env) and the dialplan spreads
// inbound calls over both. Callers of both wait in the same queue with no
// agent; replica B is killed. Replica A's sweep hangs up B's callers and
// promises each a callback that keeps their place; A's own callers are then
// served by an agent first come, first served, nobody lost. There is no
// queue lease to fail over: every replica's callers claim agents atomically
// in Redis.
func TestReplicaKilledWhileCallersWait(t *testing.T) {
	env := loadEnv(t)
	run := runDir(t)
	rdb := redisClient(t)
	prefix := redisPrefix(t)
	replicaEnv, err := filepath.Abs("../deploy/test/replica2.env")
	if err != nil {
		t.Fatal(err)
	}
	const replicaA, replicaB = "test-replica", "test-replica-b"
	const httpB = "http://127.0.0.1:8091"
	stackCmd(t, "hotline.sh", "replica-up", replicaEnv)
	t.Cleanup(func() { stackCmd(t, "hotline.sh", "replica-down", replicaEnv) })
	awaitHealthy(t, httpB, 30*time.Second)

	ag := env.phone(t, "2002")
	env.setSkills(t, "2002", map[string]int{"general": 1})
	env.agentsOnly(t) // nobody staffed: everyone waits

	type waiter struct {
		phone, id, owner string
		joined           time.Time
		sipp             *sipp
	}
	var all []*waiter
	byOwner := map[string][]*waiter{}
	var phones []string
	// Calls land on a replica chosen at random: call until each has two.
	for n := 0; len(byOwner[replicaA]) < 2 || len(byOwner[replicaB]) < 2; n++ {
		if n == 12 {
			t.Fatalf("12 calls and still not two on each replica: A %d, B %d", len(byOwner[replicaA]), len(byOwner[replicaB]))
		}
		w := &waiter{phone: uniquePhone()}
		phones = append(phones, w.phone)
		w.sipp = caller(t, env, w.phone, pause(1500*time.Millisecond), press("0"), awaitByeWithin(170*time.Second))
		w.id = channelOf(t, env, w.phone)
		eventually(t, 10*time.Second, "owner of "+w.id, func() bool {
			w.owner, _ = rdb.HGet(context.Background(), prefix+"call:"+w.id, "owner").Result()
			return w.owner != ""
		})
		all = append(all, w)
		byOwner[w.owner] = append(byOwner[w.owner], w)
	}
	quietCallbacks(t, env, phones...)
	for _, w := range all {
		_, w.joined = queuePlace(t, rdb, prefix, w.id)
	}
	t.Logf("%d callers waiting: %d on A, %d on B", len(all), len(byOwner[replicaA]), len(byOwner[replicaB]))

	// Kill B.
	raw, err := os.ReadFile(filepath.Join(run, "hotline-replica2.pid"))
	if err != nil {
		t.Fatal(err)
	}
	pid, _ := strconv.Atoi(strings.TrimSpace(string(raw)))
	if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
		t.Fatalf("kill replica B %d: %v", pid, err)
	}
	killed := time.Now()
	eventually(t, 40*time.Second, "kept-place callbacks for B's callers", func() bool {
		for _, w := range byOwner[replicaB] {
			cbs := env.callbacksOf(t, w.phone)
			if len(cbs) != 1 {
				return false
			}
		}
		return true
	})
	takeover := time.Since(killed)
	t.Logf("takeover: B's callers hung up and called back %.1f s after the kill", takeover.Seconds())
	for _, w := range byOwner[replicaB] {
		cb := env.callbacksOf(t, w.phone)[0]
		if cb.Kind != "virtual_hold" || !cb.QueuedAt.Equal(w.joined) || cb.CallID != w.id {
			t.Errorf("B's caller %s: callback %+v, want virtual_hold queued at %s", w.phone, cb, w.joined.Format(time.RFC3339Nano))
		}
		w.sipp.wait(t, 10*time.Second) // hung up
	}
	// A's callers are still waiting, untouched.
	for _, w := range byOwner[replicaA] {
		if cbs := env.callbacksOf(t, w.phone); len(cbs) != 0 {
			t.Errorf("A's caller %s was given a callback: %+v", w.phone, cbs)
		}
		if n, _ := rdb.Exists(context.Background(), prefix+"queue:place:"+w.id).Result(); n != 1 {
			t.Errorf("A's caller %s is no longer waiting", w.phone)
		}
	}

	// New calls while B is dead all land on A (the dialplan skips B's app).
	for i := 0; i < 2; i++ {
		p := uniquePhone()
		c := caller(t, env, p, pause(3*time.Second), hangUp)
		id := channelOf(t, env, p)
		var owner string
		eventually(t, 10*time.Second, "owner of a new call", func() bool {
			owner, _ = rdb.HGet(context.Background(), prefix+"call:"+id, "owner").Result()
			return owner != ""
		})
		if owner != replicaA {
			t.Errorf("new call %s owned by %q with B dead", id, owner)
		}
		c.wait(t, 20*time.Second)
	}

	// An agent serves A's callers in the order they joined.
	served := byOwner[replicaA]
	sort.Slice(served, func(i, j int) bool { return served[i].joined.Before(served[j].joined) })
	events := agentStream(t, env, "/api/v1/agents/2002/events")
	agentSide := func() *sipp {
		body := uasHead(captureDialog) + uasAnswer + uasHangUp + scenarioTail
		return startSipp(t, "agent-2002", render(t, body, scenarioData{AnswerAfterMS: 300, TalkMS: 2000}), "", ag.sipPort, ag.mediaPort, "-rtp_echo")
	}
	call := agentSide()
	env.agentsOnly(t, "2002")
	for i, w := range served {
		pop := nextPop(t, events, 30*time.Second)
		if pop.Data["phone"] != w.phone {
			t.Fatalf("served #%d: %v, want %s (joined %s)", i+1, pop.Data["phone"], w.phone, w.joined.Format(time.RFC3339Nano))
		}
		call.wait(t, 20*time.Second)
		w.sipp.wait(t, 10*time.Second)
		if i < len(served)-1 {
			call = agentSide()
		}
	}
	// Nobody of A's was lost or called back.
	for _, w := range served {
		if cbs := env.callbacksOf(t, w.phone); len(cbs) != 0 {
			t.Errorf("A's caller %s served and still owed a callback: %+v", w.phone, cbs)
		}
	}
	if code, _ := healthOf(env.HTTP); code != 200 {
		t.Errorf("replica A /healthz %d", code)
	}
}
