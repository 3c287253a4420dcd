//go:build e2e

package e2e

import (
	"context"
	"encoding/json"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/hotline95598/hotline/callbacks"
	"github.com/hotline95598/hotline/policy"
	"github.com/redis/go-redis/v9"
)

// Fault tests: parts of the test stack are stopped, killed and restarted
// under live calls. Each test leaves the stack healthy (/healthz 200) for
// the test files that run after this one.

// runDir is the test stack's state directory (pid files, logs).
func runDir(t *testing.T) string {
	t.Helper()
	run := os.Getenv("HOTLINE_RUN_DIR")
	if run == "" {
		t.Fatal("HOTLINE_RUN_DIR is not set: run the e2e tests through deploy/local/e2e.sh")
	}
	return run
}

// stackCmd runs deploy/local/stack.sh or hotline.sh with the test stack's
// environment (inherited: HOTLINE_ENV_FILE, HOTLINE_RUN_DIR).
func stackCmd(t *testing.T, script string, args ...string) {
	t.Helper()
	out, err := exec.Command("../deploy/local/"+script, args...).CombinedOutput()
	if err != nil {
		t.Fatalf("%s %v: %v\n%s", script, args, err, out)
	}
}

// redisClient connects to the test stack's Redis directly, to check what
// the API cannot show (queue places, half-written records).
func redisClient(t *testing.T) *redis.Client {
	t.Helper()
	rdb := redis.NewClient(&redis.Options{Addr: envValue(t, "HOTLINE_REDIS_ADDR"),
		Password: envValue(t, "HOTLINE_REDIS_PASSWORD"), DialTimeout: time.Second, MaxRetries: -1})
	t.Cleanup(func() { rdb.Close() })
	return rdb
}

func redisPrefix(t *testing.T) string {
	if p := envValue(t, "HOTLINE_REDIS_PREFIX"); p != "" {
		return p
	}
	return "hotline:"
}

type health struct {
	Status string
	Parts  map[string]struct {
		OK     bool
		Detail string
	}
}

// healthOf reads a controller's /healthz (code 0 when it does not answer).
func healthOf(base string) (int, health) {
	var h health
	c := http.Client{Timeout: 3 * time.Second}
	resp, err := c.Get(base + "/healthz")
	if err != nil {
		return 0, h
	}
	defer resp.Body.Close()
	_ = json.NewDecoder(resp.Body).Decode(&h)
	return resp.StatusCode, h
}

// awaitHealthy waits for /healthz 200 with every part ok.
func awaitHealthy(t *testing.T, base string, within time.Duration) time.Duration {
	t.Helper()
	start := time.Now()
	eventually(t, within, base+" /healthz 200", func() bool { code, _ := healthOf(base); return code == 200 })
	return time.Since(start)
}

// channelOf finds the id of the caller's channel in Asterisk.
func channelOf(t *testing.T, env *Env, phone string) string {
	t.Helper()
	var id string
	eventually(t, 15*time.Second, "channel of "+phone, func() bool {
		// The caller's own leg: agent legs ("<call>-agent-…", rung while
		// the caller still hears the transfer prompt) carry their number too.
		for _, ch := range env.channelsOf(t, phone) {
			if !strings.Contains(ch, "-agent") {
				id = ch
				return true
			}
		}
		return false
	})
	return id
}

// queuePlace waits until the call waits in a queue and returns the queue and
// join time the dispatcher recorded (queue.Queue.PlaceOf).
func queuePlace(t *testing.T, rdb *redis.Client, prefix, callID string) (string, time.Time) {
	t.Helper()
	var h map[string]string
	eventually(t, 20*time.Second, "call "+callID+" in a queue", func() bool {
		h, _ = rdb.HGetAll(context.Background(), prefix+"queue:place:"+callID).Result()
		return h["queue"] != ""
	})
	ms, _ := strconv.ParseInt(h["joined"], 10, 64)
	return h["queue"], time.UnixMilli(ms)
}

type callbackView struct {
	ID, Status, Kind string
	TicketID         string    `json:"ticket_id"`
	CallID           string    `json:"call_id"`
	QueuedAt         time.Time `json:"queued_at"`
	CreatedAt        time.Time `json:"created_at"`
}

func (e *Env) callbacksOf(t *testing.T, phone string) []callbackView {
	t.Helper()
	var out struct{ Callbacks []callbackView }
	e.api(t, "GET", "/api/v1/callbacks?phone="+phone, &out)
	return out.Callbacks
}

// quietCallbacks cancels, when the test ends, the callbacks these numbers
// are still owed and waits for attempts in progress to end, so no callback
// of this test rings the carrier side of a later one.
func quietCallbacks(t *testing.T, env *Env, phones ...string) {
	t.Cleanup(func() {
		rdb := redis.NewClient(&redis.Options{Addr: envValue(t, "HOTLINE_REDIS_ADDR"), Password: envValue(t, "HOTLINE_REDIS_PASSWORD")})
		defer rdb.Close()
		st := callbacks.NewStore(rdb, redisPrefix(t), policy.CallbackPolicy{}, nil)
		for _, p := range phones {
			if _, err := st.CancelServed(context.Background(), p, callbacks.KindAbandoned, callbacks.KindCutOff,
				callbacks.KindVirtualHold, callbacks.KindScheduled); err != nil {
				t.Errorf("cancel callbacks of %s: %v", p, err)
			}
		}
		deadline := time.Now().Add(40 * time.Second)
		for time.Now().Before(deadline) {
			var chs []struct{ ID string }
			env.ari(t, "/channels", &chs)
			legs := 0
			for _, ch := range chs {
				if strings.HasPrefix(ch.ID, "cb-") {
					legs++
				}
			}
			if legs == 0 {
				return
			}
			time.Sleep(200 * time.Millisecond)
		}
		t.Errorf("callback legs still up 40 s after the test")
	})
}

func killController(t *testing.T, run string) {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join(run, "hotline.pid"))
	if err != nil {
		t.Fatal(err)
	}
	pid, _ := strconv.Atoi(strings.TrimSpace(string(raw)))
	if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
		t.Fatalf("kill controller %d: %v", pid, err)
	}
}

// A controller killed with one caller waiting in the queue and another in
// the menu (listening to their fault ticket number): after the restart the
// waiting caller is owed a virtual_hold callback that keeps their original
// place in the queue, the caller in the menu a cut_off callback; the ticket
// written before the kill and a callback promised before it are all there.
func TestFaultSIGKILLWithCallersInMenuAndQueue(t *testing.T) {
	env := loadEnv(t)
	run := runDir(t)
	rdb := redisClient(t)
	prefix := redisPrefix(t)
	env.agentsOnly(t) // nobody answers: the caller waits
	waiting, inMenu, promised := uniquePhone(), uniquePhone(), uniquePhone()
	quietCallbacks(t, env, waiting, inMenu, promised)

	// A callback promised before the kill, due well after this test.
	at := time.Now().Add(2 * time.Hour).Format(time.RFC3339)
	var before callbackView
	if code := env.post(t, "/api/v1/callbacks", map[string]string{"phone": promised, "at": at, "reason": "fault test"}, &before); code != 201 {
		t.Fatalf("schedule callback: %d", code)
	}

	q := caller(t, env, waiting, pause(1500*time.Millisecond), press("0"), awaitBye)
	qid := channelOf(t, env, waiting)
	queue, joined := queuePlace(t, rdb, prefix, qid)
	m := caller(t, env, inMenu, pause(1500*time.Millisecond), press("1"), awaitBye)
	eventually(t, 10*time.Second, "fault ticket", func() bool { return len(env.tickets(t, inMenu)) == 1 })
	ticket := env.tickets(t, inMenu)[0].ID

	killController(t, run)
	killed := time.Now()
	stackCmd(t, "hotline.sh", "restart-controller")
	q.wait(t, 40*time.Second) // both hung up by the recovery
	m.wait(t, 40*time.Second)

	var vh, co []callbackView
	eventually(t, 20*time.Second, "virtual_hold and cut_off callbacks", func() bool {
		vh, co = env.callbacksOf(t, waiting), env.callbacksOf(t, inMenu)
		return len(vh) == 1 && len(co) == 1
	})
	t.Logf("orphans hung up and called back %.1f s after the kill", time.Since(killed).Seconds())
	if vh[0].Kind != "virtual_hold" || !vh[0].QueuedAt.Equal(joined) || vh[0].CallID != qid {
		t.Errorf("waiting caller (%s queue, joined %s): callback %+v, want virtual_hold keeping the join time",
			queue, joined.Format(time.RFC3339Nano), vh[0])
	}
	if co[0].Kind != "cut_off" || co[0].TicketID != ticket {
		t.Errorf("caller in the menu: callback %+v, want cut_off on ticket %s", co[0], ticket)
	}
	o := env.order(t, ticket)
	if last := o.Audit[len(o.Audit)-1]; !strings.Contains(last.Note, "controller restart") || !strings.Contains(last.Note, co[0].ID) {
		t.Errorf("ticket audit %+v", o.Audit)
	}
	// Nothing accepted before the kill is lost.
	if got := env.callbacksOf(t, promised); len(got) != 1 || got[0].ID != before.ID || got[0].Status != "pending" {
		t.Errorf("callback promised before the kill: %+v, want %s pending", got, before.ID)
	}
	awaitHealthy(t, env.HTTP, 30*time.Second)
}

// Redis killed (SIGKILL, as a crash) and started again from its AOF: every
// ticket and callback acknowledged more than a second before the crash is
// still there (appendfsync everysec), /healthz reports Redis down during the
// outage and the controller reconnects by itself.
func TestFaultRedisRestart(t *testing.T) {
	env := loadEnv(t)
	run := runDir(t)
	phones := []string{uniquePhone(), uniquePhone(), uniquePhone()}
	quietCallbacks(t, env, phones...)
	at := time.Now().Add(2 * time.Hour).Format(time.RFC3339)
	var tickets []string
	cbs := map[string]string{}
	// Tickets through calls (the caller reports a fault and hangs up) and
	// callbacks through the API.
	for _, p := range phones {
		c := caller(t, env, p, pause(1500*time.Millisecond), press("1"), pause(2*time.Second), hangUp)
		c.wait(t, 30*time.Second)
		ts := env.tickets(t, p)
		if len(ts) != 1 {
			t.Fatalf("tickets of %s: %+v", p, ts)
		}
		tickets = append(tickets, ts[0].ID)
		var cb callbackView
		if code := env.post(t, "/api/v1/callbacks", map[string]string{"phone": p, "at": at, "reason": "redis test"}, &cb); code != 201 {
			t.Fatalf("schedule callback: %d", code)
		}
		cbs[p] = cb.ID
	}
	time.Sleep(1500 * time.Millisecond) // past appendfsync everysec

	raw, err := os.ReadFile(filepath.Join(run, "redis.pid"))
	if err != nil {
		t.Fatal(err)
	}
	pid, _ := strconv.Atoi(strings.TrimSpace(string(raw)))
	if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
		t.Fatalf("kill redis %d: %v", pid, err)
	}
	down := time.Now()
	restarted := false
	t.Cleanup(func() {
		if !restarted { // leave the stack whole for the tests after this one
			stackCmd(t, "stack.sh", "redis-up")
		}
	})
	var h health
	eventually(t, 15*time.Second, "/healthz to report Redis down", func() bool {
		var code int
		code, h = healthOf(env.HTTP)
		return code == 503 && !h.Parts["redis"].OK
	})
	t.Logf("/healthz 503 %.1f s after the crash: redis %q, ari ok=%v", time.Since(down).Seconds(), h.Parts["redis"].Detail, h.Parts["ari"].OK)
	time.Sleep(3 * time.Second) // an outage of some seconds, housekeeping included
	stackCmd(t, "stack.sh", "redis-up")
	restarted = true
	up := time.Now()
	took := awaitHealthy(t, env.HTTP, 30*time.Second)
	t.Logf("Redis down %.1f s; controller healthy %.1f s after Redis was back", up.Sub(down).Seconds(), took.Seconds())

	for i, p := range phones {
		if got := env.order(t, tickets[i]); got.ID != tickets[i] || got.Phone != p {
			t.Errorf("ticket %s after the restart: %+v", tickets[i], got)
		}
		if ts := env.tickets(t, p); len(ts) != 1 || ts[0].ID != tickets[i] {
			t.Errorf("ticket index of %s after the restart: %+v", p, ts)
		}
		if got := env.callbacksOf(t, p); len(got) != 1 || got[0].ID != cbs[p] || got[0].Status != "pending" {
			t.Errorf("callback of %s after the restart: %+v", p, got)
		}
	}
	// The controller works again: a new call gets a ticket.
	p := uniquePhone()
	c := caller(t, env, p, pause(1500*time.Millisecond), press("1"), pause(2*time.Second), hangUp)
	c.wait(t, 30*time.Second)
	if ts := env.tickets(t, p); len(ts) != 1 {
		t.Errorf("call after the restart: tickets %+v", ts)
	}
}

// Redis down while a caller reports a fault: the caller hears the apology
// ("please call again later") and the call ends cleanly; once Redis is back
// there is no ticket half written (a record without its indexes).
func TestFaultRedisDownDuringFaultReport(t *testing.T) {
	env := loadEnv(t)
	run := runDir(t)
	phone := uniquePhone()
	stackCmd(t, "stack.sh", "redis-down")
	restarted := false
	t.Cleanup(func() {
		if !restarted {
			stackCmd(t, "stack.sh", "redis-up")
		}
	})
	logBefore, _ := os.Stat(filepath.Join(run, "hotline.log"))
	c := caller(t, env, phone, pause(1500*time.Millisecond), press("1"), awaitBye)
	c.wait(t, 60*time.Second) // the hotline apologises and hangs up
	stackCmd(t, "stack.sh", "redis-up")
	restarted = true
	awaitHealthy(t, env.HTTP, 30*time.Second)

	// The controller says why the call ended: the ticket could not be
	// written, so the call ended as an error after the apology.
	logs := readFrom(t, filepath.Join(run, "hotline.log"), logBefore)
	masked := phone[:3] + "****" + phone[len(phone)-4:]
	var failed, ended bool
	for _, line := range strings.Split(logs, "\n") {
		if !strings.Contains(line, masked) {
			continue
		}
		failed = failed || strings.Contains(line, `"create ticket"`)
		ended = ended || (strings.Contains(line, `"call ended"`) && strings.Contains(line, `"reason":"error"`))
	}
	if !failed || !ended {
		t.Fatalf("controller log for %s: ticket failure logged %v, call ended as error %v", masked, failed, ended)
	}
	if ts := env.tickets(t, phone); len(ts) != 0 {
		t.Fatalf("tickets of %s: %+v", phone, ts)
	}
	assertTicketsIndexed(t)
}

// readFrom returns what was appended to a file since st was taken.
func readFrom(t *testing.T, path string, st os.FileInfo) string {
	t.Helper()
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if st != nil && int64(len(raw)) >= st.Size() {
		raw = raw[st.Size():]
	}
	return string(raw)
}

// assertTicketsIndexed checks every ticket record is in the all-tickets
// index and its phone's index: nothing half written.
func assertTicketsIndexed(t *testing.T) {
	t.Helper()
	rdb := redisClient(t)
	ctx := context.Background()
	p := redisPrefix(t)
	keys, err := rdb.Keys(ctx, p+"ticket:*").Result()
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, k := range keys {
		if typ, _ := rdb.Type(ctx, k).Result(); typ != "string" {
			continue // not a ticket record (a ticket is one JSON value)
		}
		var tk struct{ ID, Phone string }
		if raw, err := rdb.Get(ctx, k).Result(); err != nil || json.Unmarshal([]byte(raw), &tk) != nil || tk.ID == "" {
			continue
		}
		n++
		if _, err := rdb.ZScore(ctx, p+"tickets:all", tk.ID).Result(); err != nil {
			t.Errorf("ticket %s is not in tickets:all: %v", tk.ID, err)
		}
		if tk.Phone != "" {
			if _, err := rdb.ZScore(ctx, p+"tickets:by_phone:"+tk.Phone, tk.ID).Result(); err != nil {
				t.Errorf("ticket %s is not in its phone's index: %v", tk.ID, err)
			}
		}
	}
	t.Logf("%d tickets, all indexed", n)
}

// Asterisk restarted while one caller waits in the queue and another is in
// the menu: the controller reconnects to ARI by itself (/healthz ok again);
// both callers were cut off, not hung up, so the waiting one is called back
// keeping their place and the other gets a cut-off callback.
func TestFaultAsteriskRestart(t *testing.T) {
	env := loadEnv(t)
	rdb := redisClient(t)
	prefix := redisPrefix(t)
	env.agentsOnly(t)
	phone, inMenu := uniquePhone(), uniquePhone()
	quietCallbacks(t, env, phone, inMenu)
	// Asterisk hangs the callers up when it stops: the scenarios take the BYE.
	c := caller(t, env, phone, pause(1500*time.Millisecond), press("0"), awaitBye)
	id := channelOf(t, env, phone)
	queuePlace(t, rdb, prefix, id)
	m := caller(t, env, inMenu, awaitBye) // still hearing the welcome
	menuID := channelOf(t, env, inMenu)
	// Both answered (200 OK sent, the ACK follows at once): their
	// scenarios are at the step that takes the BYE.
	for _, ch := range []string{id, menuID} {
		eventually(t, 10*time.Second, "channel "+ch+" answered", func() bool {
			var c struct{ State string }
			return env.ari(t, "/channels/"+ch, &c) == 200 && c.State == "Up"
		})
	}
	cutOffs := env.metric(t, `hotline_calls_ended_total{reason="cut_off"}`)

	restarted := false
	t.Cleanup(func() {
		if !restarted {
			stackCmd(t, "stack.sh", "asterisk-up")
			awaitHealthy(t, env.HTTP, 60*time.Second) // the tests after this one need ARI
		}
	})
	stackCmd(t, "stack.sh", "asterisk-down")
	stopped := time.Now()
	eventually(t, 15*time.Second, "/healthz to report ARI down", func() bool {
		code, h := healthOf(env.HTTP)
		return code == 503 && !h.Parts["ari"].OK
	})
	c.wait(t, 20*time.Second)
	m.wait(t, 20*time.Second)
	stackCmd(t, "stack.sh", "asterisk-up")
	restarted = true
	back := time.Now()
	took := awaitHealthy(t, env.HTTP, 60*time.Second)
	t.Logf("Asterisk down %.1f s; controller reconnected %.1f s after Asterisk was ready", back.Sub(stopped).Seconds(), took.Seconds())

	// Asterisk hangs every channel up as it stops (a soft hangup with the
	// shutdown flag): those callers did not hang up. The one waiting keeps
	// their place in the queue; the one in the menu is called back.
	var cbs, menuCbs []callbackView
	eventually(t, 20*time.Second, "callbacks for the callers cut off by Asterisk", func() bool {
		cbs, menuCbs = env.callbacksOf(t, phone), env.callbacksOf(t, inMenu)
		return len(cbs) == 1 && len(menuCbs) == 1
	})
	if cbs[0].Kind != "virtual_hold" || cbs[0].CallID != id || cbs[0].QueuedAt.IsZero() || !cbs[0].QueuedAt.Before(stopped) {
		t.Errorf("callback %+v, want virtual_hold for call %s keeping the place taken before the stop", cbs[0], id)
	}
	if menuCbs[0].Kind != "cut_off" || menuCbs[0].CallID != menuID {
		t.Errorf("callback %+v, want cut_off for call %s", menuCbs[0], menuID)
	}
	if got := env.metric(t, `hotline_calls_ended_total{reason="cut_off"}`) - cutOffs; got != 2 {
		t.Errorf("calls ended cut_off: %v, want 2", got)
	}
	// The caller left the queue.
	eventually(t, 15*time.Second, "queue entry gone", func() bool {
		n, _ := rdb.Exists(context.Background(), prefix+"queue:place:"+id).Result()
		return n == 0
	})
	// Agent phones registered before the restart are gone with Asterisk's
	// memory; the tests after this one register their own.
}
