package menus

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hotline95598/hotline/ivr"
	"github.com/hotline95598/hotline/ivr/ivrtest"
	"github.com/rs/zerolog"
)

// Many calls run while the menu is swapped again and again, with broken
// files in between (run with -race): every call finishes on the menu it
// started with, none fails, and refused files never reach a caller.
func TestRunnerUnderReload(t *testing.T) {
	dir := t.TempDir()
	def := string(DefaultYAML())
	version := func(s, v string) string {
		return strings.Replace(s, `version: "`+Default(testNames).Version+`"`, `version: "`+v+`"`, 1)
	}
	a := writeFile(t, dir, "a.yaml", version(def, "a"))
	b := writeFile(t, dir, "b.yaml", version(strings.Replace(def, "intro: welcome", "intro: fault_merged", 1), "b"))
	bad := writeFile(t, dir, "bad.yaml", version(strings.Replace(def, "prompts: goodbye", "prompts: good_bye", 1), "bad"))
	h := NewHolder(nil, testNames, nil)
	if _, err := h.Reload(a); err != nil {
		t.Fatal(err)
	}
	sw := ivrtest.New()
	// Every caller presses 0 at the main menu.
	sw.OnPlay = func(s *ivrtest.Switch, ch, pb string, media []string) {
		if strings.HasSuffix(media[len(media)-1], "/main_menu") {
			s.Press(ch, "0")
		}
	}
	steps := &fakeSteps{results: map[string][]string{}}
	run := &Runner{Log: zerolog.Nop()}

	stop := make(chan struct{})
	var reloads, refused atomic.Int64
	var rw sync.WaitGroup
	rw.Go(func() {
		files := []string{b, bad, a, bad}
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			if _, err := h.Reload(files[i%len(files)]); err != nil {
				refused.Add(1)
			}
			reloads.Add(1)
			time.Sleep(200 * time.Microsecond)
		}
	})

	const callers, callsEach = 32, 20
	var wg sync.WaitGroup
	var calls atomic.Int64
	seen := sync.Map{} // version -> true
	for g := 0; g < callers; g++ {
		wg.Go(func() {
			for i := 0; i < callsEach; i++ {
				id := fmt.Sprintf("ch-%d-%d", g, i)
				m := h.Load() // once per call, as the call flow does
				st := &State{Sess: ivr.NewSession(sw, id, zerolog.Nop()), CallID: id}
				ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
				out, err := run.Run(ctx, m, st, steps)
				cancel()
				if err != nil || out.Kind != OutcomeAgent || out.Node != "agent" {
					t.Errorf("%s on menu %s: %+v %v", id, m.Version, out, err)
					return
				}
				heard := strings.Join(sw.Played(id), " ")
				intro := map[string]string{"a": "hotline/welcome ", "b": "hotline/fault_merged "}[m.Version]
				if intro == "" || !strings.Contains(heard, intro) || st.Menu != m {
					t.Errorf("%s started on menu %q but heard %s", id, m.Version, heard)
					return
				}
				seen.Store(m.Version, true)
				calls.Add(1)
			}
		})
	}
	wg.Wait()
	close(stop)
	rw.Wait()
	_, sawA := seen.Load("a")
	_, sawB := seen.Load("b")
	if calls.Load() != callers*callsEach || !sawA || !sawB || refused.Load() == 0 {
		t.Fatalf("calls %d, menus a %v b %v, reloads %d (refused %d)", calls.Load(), sawA, sawB, reloads.Load(), refused.Load())
	}
	t.Logf("%d calls over %d reloads (%d refused)", calls.Load(), reloads.Load(), refused.Load())
}
