//go:build e2e

package e2e

import (
	"bufio"
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"
)

// agentEvent is one server-sent event of /api/v1/agents/{id}/events.
type agentEvent struct {
	Type, ID string
	Data     map[string]any
	At       time.Time
}

// agentStream opens an agent's event stream; it closes with the test.
func agentStream(t *testing.T, env *Env, path string) <-chan agentEvent {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	req, _ := http.NewRequestWithContext(ctx, "GET", env.HTTP+path, nil)
	req.Header.Set("Authorization", "Bearer "+env.Token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "text/event-stream" {
		t.Fatalf("event stream %s: %d %s", path, resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	out := make(chan agentEvent, 100)
	go func() {
		defer resp.Body.Close()
		defer close(out)
		sc := bufio.NewScanner(resp.Body)
		var ev agentEvent
		for sc.Scan() {
			k, v, _ := strings.Cut(sc.Text(), ": ")
			switch k {
			case "event":
				ev.Type = v
			case "id":
				ev.ID = v
			case "data":
				_ = json.Unmarshal([]byte(v), &ev.Data)
			case "":
				if ev.Type != "" {
					ev.At = time.Now()
					out <- ev
				}
				ev = agentEvent{}
			}
		}
	}()
	return out
}

// The agent's desk gets the screen pop with the caller's number and menu
// path before the agent picks up, then the states ringing and on_call.
func TestScreenPopOverSSE(t *testing.T) {
	env := loadEnv(t)
	ag := env.phone(t, "2001")
	env.agentsOnly(t, "2001")
	events := agentStream(t, env, "/api/v1/agents/2001/events")
	agentCall := ag.talk(t, time.Second, 2*time.Second)
	phone := uniquePhone()
	c := caller(t, env, phone, pause(1500*time.Millisecond), press("0"), awaitByeWithin(60*time.Second))

	var pop *agentEvent
	var states []string
	var ringingAt, onCallAt time.Time
	deadline := time.After(40 * time.Second)
	for onCallAt.IsZero() {
		select {
		case ev, ok := <-events:
			if !ok {
				t.Fatal("event stream ended")
			}
			switch ev.Type {
			case "screen_pop":
				if pop == nil {
					pop = &ev
				}
			case "state":
				st, _ := ev.Data["state"].(string)
				states = append(states, st)
				switch st {
				case "ringing":
					ringingAt = ev.At
				case "on_call":
					onCallAt = ev.At
				}
			}
		case <-deadline:
			t.Fatalf("no on_call event; states %v, screen pop %+v", states, pop)
		}
	}
	t.Logf("states %v; screen pop %+v", states, pop)
	if pop == nil {
		t.Fatal("no screen pop before the agent answered")
	}
	if pop.Data["phone"] != phone || pop.Data["agent"] != "2001" || pop.Data["call_id"] == "" {
		t.Fatalf("screen pop %+v, want the caller's number %s", pop.Data, phone)
	}
	if mp, _ := pop.Data["menu_path"].(string); !strings.Contains(mp, "0") {
		t.Fatalf("screen pop menu path %q, want the 0 the caller pressed", mp)
	}
	if ringingAt.IsZero() || !ringingAt.Before(onCallAt) {
		t.Fatalf("states %v: want ringing then on_call", states)
	}
	// The phone answers 1 s after it rings: the pop must be on the desk
	// well before that.
	t.Logf("screen pop %s before the agent answered", onCallAt.Sub(pop.At).Round(time.Millisecond))
	if onCallAt.Sub(pop.At) < 500*time.Millisecond {
		t.Fatalf("screen pop only %s before the answer", onCallAt.Sub(pop.At))
	}
	c.wait(t, 60*time.Second)
	agentCall.wait(t, 10*time.Second)
}

type ariBridge struct {
	ID       string   `json:"id"`
	Channels []string `json:"channels"`
}

func (e *Env) bridges(t *testing.T) map[string][]string {
	var bs []ariBridge
	e.ari(t, "/bridges", &bs)
	out := map[string][]string{}
	for _, b := range bs {
		out[b.ID] = b.Channels
	}
	return out
}

type monitorInfo struct {
	ID, Agent, Supervisor, Mode, State string
	CallID                             string `json:"call_id"`
	SupervisorChannel                  string `json:"supervisor_channel"`
}

// A supervisor (2003, registered but not logged in as an agent, so never
// offered a call) listens to agent 2001's call through a snoop channel,
// whispers, then barges into the call's bridge; when the caller hangs up
// the supervisor is hung up and nothing of the monitor is left.
func TestSupervisorListenWhisperBarge(t *testing.T) {
	env := loadEnv(t)
	ag, sup := env.phone(t, "2001"), env.phone(t, "2003")
	env.agentsOnly(t, "2001")
	var refused map[string]string
	if code := env.post(t, "/api/v1/agents/2001/monitor", map[string]string{"mode": "listen", "supervisor": "2003"}, &refused); code != 409 {
		t.Fatalf("monitor of an agent not on a call: %d %v, want 409", code, refused)
	}
	agentCall := ag.answer(t, 300*time.Millisecond)
	supCall := sup.answer(t, 300*time.Millisecond)
	// The caller keeps speaking (7 s of speech every 8 s) so there is
	// something for the supervisor to hear, and hangs up after about 50 s.
	script := []step{pause(1500 * time.Millisecond), press("0"), pause(4 * time.Second)}
	for range 5 {
		script = append(script, talk(), pause(8*time.Second))
	}
	c := caller(t, env, uniquePhone(), append(script, pause(5*time.Second), hangUp)...)

	eventually(t, 40*time.Second, "agent on call", func() bool { return env.agentState(t, "2001").State == "on_call" })
	var a struct {
		CallID string `json:"call_id"`
	}
	env.api(t, "GET", "/api/v1/agents/2001", &a)
	callBridge := "br-" + a.CallID

	monitor := func(mode string) monitorInfo {
		t.Helper()
		var info monitorInfo
		if code := env.post(t, "/api/v1/agents/2001/monitor", map[string]string{"mode": mode, "supervisor": "2003"}, &info); code != 202 {
			t.Fatalf("monitor %s: %d %+v", mode, code, info)
		}
		return info
	}
	info := monitor("listen")
	if info.CallID != a.CallID || info.SupervisorChannel == "" {
		t.Fatalf("monitor %+v for call %s", info, a.CallID)
	}
	supLeg := info.SupervisorChannel

	// listen: the supervisor and a snoop channel on the agent's leg share a
	// bridge of their own; the call's bridge still holds caller and agent.
	snoopBridge := func() (string, string) {
		for id, chs := range env.bridges(t) {
			if !strings.HasPrefix(id, "mon-") || len(chs) != 2 {
				continue
			}
			other := chs[0]
			if other == supLeg {
				other = chs[1]
			}
			if (chs[0] == supLeg || chs[1] == supLeg) && strings.Contains(other, "-agent-snoop") {
				return id, other
			}
		}
		return "", ""
	}
	var monBridge, snoop string
	eventually(t, 15*time.Second, "supervisor bridged with a snoop channel", func() bool {
		monBridge, snoop = snoopBridge()
		return monBridge != ""
	})
	var ch struct{ Name string }
	if env.ari(t, "/channels/"+snoop, &ch); !strings.HasPrefix(ch.Name, "Snoop/") {
		t.Fatalf("channel %s is %q, not a snoop channel", snoop, ch.Name)
	}
	if chs := env.bridges(t)[callBridge]; len(chs) != 2 {
		t.Fatalf("call bridge %s while listening: %v", callBridge, chs)
	}
	t.Logf("listen: %s holds %s and %s (%s)", monBridge, supLeg, snoop, ch.Name)
	// And the supervisor hears the call: Asterisk sends them audio.
	sent := func() int {
		var st struct {
			TxCount int `json:"txcount"`
		}
		env.ari(t, "/channels/"+supLeg+"/rtp_statistics", &st)
		return st.TxCount
	}
	before := sent()
	eventually(t, 10*time.Second, "audio to the listening supervisor", func() bool { return sent() > before+25 })

	// whisper: a new snoop channel (whispering to the agent) replaces it.
	monitor("whisper")
	eventually(t, 10*time.Second, "whisper snoop bridged", func() bool {
		_, s := snoopBridge()
		return s != "" && s != snoop
	})

	// barge: the supervisor is in the call's bridge; the monitor's own
	// bridge and snoop channel are gone.
	if got := monitor("barge"); got.Mode != "barge" || got.SupervisorChannel != supLeg {
		t.Fatalf("barge %+v", got)
	}
	eventually(t, 10*time.Second, "supervisor in the call's bridge", func() bool {
		chs := env.bridges(t)[callBridge]
		return len(chs) == 3 && strings.Contains(strings.Join(chs, ","), supLeg)
	})
	eventually(t, 5*time.Second, "listen/whisper bridge gone after barging", func() bool {
		_, left := env.bridges(t)[monBridge]
		return !left
	})
	t.Logf("barge: %s holds %v", callBridge, env.bridges(t)[callBridge])

	// The caller hangs up: agent and supervisor are hung up, nothing left.
	c.wait(t, 90*time.Second)
	agentCall.wait(t, 10*time.Second)
	supCall.wait(t, 10*time.Second)
	eventually(t, 10*time.Second, "monitor cleaned up", func() bool {
		for id := range env.bridges(t) {
			if strings.HasPrefix(id, "mon-") {
				return false
			}
		}
		var chs []struct{ ID string }
		env.ari(t, "/channels", &chs)
		for _, c := range chs {
			if strings.Contains(c.ID, "-agent-s") {
				return false
			}
		}
		return true
	})
}
