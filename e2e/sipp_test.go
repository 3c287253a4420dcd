//go:build e2e

package e2e

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	scenario "github.com/hotline95598/hotline/internal/sipp"
)

// The scenarios are generated per test from internal/sipp's parts (the
// ones the load benchmark and deploy/dev/sipp use too): each test scripts
// its own caller (keys, pauses, who hangs up), agent softphones and carrier
// side.

var nextPort atomic.Int32

func init() { nextPort.Store(int32(21000 + (os.Getpid()%50)*100)) }

// ports returns a SIP port and a media port unused by earlier sipp runs.
func ports() (sip, media int) {
	p := int(nextPort.Add(10))
	return p, p + 4
}

// A step of a caller's script.
type step = scenario.Step

func pause(d time.Duration) step { return scenario.Pause(d) }

// keypad writes the key presses: every press continues one RTP stream, so
// Asterisk takes a key pressed twice as two presses.
var keypad = func() *scenario.Keypad {
	dir, err := os.MkdirTemp("", "hotline-dtmf-")
	if err == nil {
		var k *scenario.Keypad
		if k, err = scenario.NewKeypad(dir); err == nil {
			return k
		}
	}
	panic(err)
}()

// press sends keys as RFC 4733 events, one after another.
func press(keys string) step { return flood(keys, 400*time.Millisecond) }

// flood sends keys gap apart: below 400 ms, a caller leaning on the keypad.
func flood(keys string, gap time.Duration) step {
	s, err := keypad.Press(keys, gap)
	if err != nil {
		panic(err)
	}
	return s
}

// talk plays 7 s of speech (A-law) to whoever is listening.
func talk() step { return scenario.Talk() }

// hangUp: the caller sends BYE; awaitBye: the hotline hangs up the caller.
var (
	hangUp   = scenario.HangUp
	awaitBye = scenario.AwaitBye
)

// awaitByeWithin is awaitBye for a caller who may wait long: the hotline
// hangs up within d.
func awaitByeWithin(d time.Duration) step { return scenario.AwaitByeWithin(d) }

// The parts of the side of a call the hotline places (internal/sipp).
var (
	uasAnswer   = scenario.UASAnswer
	uasAwaitBye = scenario.UASAwaitBye
	uasHangUp   = scenario.UASHangUp
	uasRingOut  = scenario.UASRingOut
)

const (
	scenarioTail  = scenario.Tail
	captureCSeq   = scenario.CaptureCSeq
	captureDialog = scenario.CaptureDialog
	require95598  = scenario.Require95598
)

func uasHead(captures string) string { return scenario.UASHead(captures) }

// sipp is one running sipp process.
type sipp struct {
	name string
	cmd  *exec.Cmd
	dir  string
	out  bytes.Buffer
	done chan error
}

type scenarioData = scenario.Data

func render(t *testing.T, text string, d scenarioData) string {
	t.Helper()
	out, err := scenario.Render(text, d)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// startSipp runs sipp with a scenario. target is "" for a server (UAS).
func startSipp(t *testing.T, name, scenario, target string, sipPort, mediaPort int, extra ...string) *sipp {
	t.Helper()
	dir := t.TempDir()
	sf := filepath.Join(dir, name+".xml")
	if err := os.WriteFile(sf, []byte(scenario), 0o644); err != nil {
		t.Fatal(err)
	}
	args := []string{"-sf", sf, "-m", "1", "-i", "127.0.0.1", "-p", fmt.Sprint(sipPort),
		"-mi", "127.0.0.1", "-mp", fmt.Sprint(mediaPort), "-bg", "-nostdin",
		"-trace_err", "-trace_msg", "-timeout", "180s", "-timeout_error", "-max_recv_loops", "1000"}
	args = append(args, extra...)
	if target != "" {
		args = append(args, target)
	}
	s := &sipp{name: name, dir: dir, done: make(chan error, 1)}
	// -bg would detach; we want to wait, so run in the foreground instead.
	args = removeArg(args, "-bg")
	s.cmd = exec.Command("sipp", args...)
	s.cmd.Dir = dir
	s.cmd.Stdout = &s.out
	s.cmd.Stderr = &s.out
	if err := s.cmd.Start(); err != nil {
		t.Fatalf("start sipp %s: %v", name, err)
	}
	go func() { s.done <- s.cmd.Wait() }()
	t.Cleanup(func() {
		select {
		case <-s.done:
		default:
			_ = s.cmd.Process.Kill()
			<-s.done
		}
		if t.Failed() {
			t.Logf("sipp %s:\n%s", name, s.logs())
		}
	})
	return s
}

func removeArg(args []string, a string) []string {
	out := args[:0]
	for _, x := range args {
		if x != a {
			out = append(out, x)
		}
	}
	return out
}

// wait waits for sipp to end and fails the test if its scenario failed.
func (s *sipp) wait(t *testing.T, within time.Duration) {
	t.Helper()
	select {
	case err := <-s.done:
		s.done <- err // keep it for the clean-up
		if err != nil {
			t.Fatalf("sipp %s failed: %v", s.name, err)
		}
	case <-time.After(within):
		t.Fatalf("sipp %s did not finish within %s", s.name, within)
	}
}

// logs returns sipp's error log and the tail of its message trace.
func (s *sipp) logs() string {
	var b strings.Builder
	files, _ := filepath.Glob(filepath.Join(s.dir, "*_errors.log"))
	for _, f := range files {
		raw, _ := os.ReadFile(f)
		fmt.Fprintf(&b, "--- %s\n%s\n", filepath.Base(f), tail(string(raw), 3000))
	}
	files, _ = filepath.Glob(filepath.Join(s.dir, "*_messages.log"))
	for _, f := range files {
		raw, _ := os.ReadFile(f)
		fmt.Fprintf(&b, "--- %s\n%s\n", filepath.Base(f), tail(string(raw), 4000))
	}
	fmt.Fprintf(&b, "--- output\n%s\n", tail(s.out.String(), 2000))
	return b.String()
}

func tail(s string, n int) string {
	if len(s) > n {
		return "..." + s[len(s)-n:]
	}
	return s
}

// caller dials 95598 from phone and follows the script.
func caller(t *testing.T, env *Env, phone string, script ...step) *sipp {
	t.Helper()
	sipPort, mediaPort := ports()
	return startSipp(t, "caller-"+phone, render(t, scenario.Caller(script...), scenarioData{Phone: phone}), env.SIPAddr, sipPort, mediaPort)
}

// agentPhone is a softphone: it registers with Asterisk from the port it
// then listens on for calls.
type agentPhone struct {
	ID, Password string
	sipPort      int
	mediaPort    int
}

// register makes the softphone register (REGISTER with digest auth).
func (a *agentPhone) register(t *testing.T, env *Env) {
	t.Helper()
	if a.sipPort == 0 {
		a.sipPort, a.mediaPort = ports()
	}
	s := startSipp(t, "register-"+a.ID, render(t, scenario.Register, scenarioData{ID: a.ID, Password: a.Password}), env.SIPAddr, a.sipPort, a.mediaPort)
	s.wait(t, 20*time.Second)
}

// answerCalls starts the softphone listening: it rings, answers after
// answerAfter, echoes the caller's audio back, and waits for the hang-up.
func (a *agentPhone) answer(t *testing.T, answerAfter time.Duration) *sipp {
	body := uasHead("") + uasAnswer + uasAwaitBye + scenarioTail
	return startSipp(t, "agent-"+a.ID, render(t, body, scenarioData{AnswerAfterMS: int(answerAfter.Milliseconds())}), "", a.sipPort, a.mediaPort, "-rtp_echo")
}

// ringOut starts the softphone listening; it rings until cancelled.
func (a *agentPhone) ringOut(t *testing.T) *sipp {
	body := uasHead(captureCSeq) + uasRingOut + scenarioTail
	return startSipp(t, "agent-noanswer-"+a.ID, render(t, body, scenarioData{}), "", a.sipPort, a.mediaPort)
}

// customerAnswering is the carrier side receiving our callback: it checks
// the call shows 95598, answers, and hangs up after talkFor.
func customerAnswering(t *testing.T, env *Env, talkFor time.Duration) *sipp {
	// The caller ID shown must be 95598: check_it fails the scenario otherwise.
	body := uasHead(captureDialog+require95598) + uasAnswer + uasHangUp + scenarioTail
	_, media := ports()
	return startSipp(t, "customer-callback", render(t, body, scenarioData{TalkMS: int(talkFor.Milliseconds())}), "", env.CarrierPort, media, "-rtp_echo")
}

// customerAnsweringUntilBye is the carrier side receiving our callback: it
// checks the call shows 95598, answers, and stays on until the hotline hangs
// up (after the agent who served the customer did).
func customerAnsweringUntilBye(t *testing.T, env *Env) *sipp {
	body := uasHead(require95598) + uasAnswer + uasAwaitBye + scenarioTail
	_, media := ports()
	return startSipp(t, "customer-callback", render(t, body, scenarioData{}), "", env.CarrierPort, media, "-rtp_echo")
}

// customerPressing is the carrier side receiving a follow-up call: it checks
// the call shows 95598, answers, presses keys after a while, and waits for
// the hotline to hang up.
func customerPressing(t *testing.T, env *Env, after time.Duration, keys string) *sipp {
	body := uasHead(require95598) + uasAnswer + string(pause(after)) + string(press(keys)) + uasAwaitBye + scenarioTail
	_, media := ports()
	return startSipp(t, "customer-followup", render(t, body, scenarioData{}), "", env.CarrierPort, media)
}
