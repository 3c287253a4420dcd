//go:build e2e

package e2e

import (
	"net/http"
	"strings"
	"testing"
	"time"
)

type noticeView struct {
	ID          string `json:"id"`
	Kind        string `json:"kind"`
	Area        string `json:"area"`
	Prompt      string `json:"prompt"`
	WithdrawnAt string `json:"withdrawn_at"`
	WithdrawnBy string `json:"withdrawn_by"`
}

// withdrawNotice DELETEs a notice and returns the status and the notice.
func (e *Env) withdrawNotice(t *testing.T, id string) (int, noticeView) {
	t.Helper()
	var n noticeView
	return e.api(t, http.MethodDelete, "/api/v1/notices/"+id, &n), n
}

// listenUntil collects the media the caller hears, read from ARI, until
// media starting with stop plays or within passes. It returns what was
// heard, in order, without repeats, and whether stop was heard.
func (e *Env) listenUntil(t *testing.T, phone, stop string, within time.Duration) ([]string, bool) {
	t.Helper()
	var heard []string
	seen := map[string]bool{}
	for deadline := time.Now().Add(within); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		for _, m := range e.playing(t, phone) {
			if !seen[m] {
				seen[m] = true
				heard = append(heard, m)
			}
			if strings.HasPrefix(m, stop) {
				return heard, true
			}
		}
	}
	return heard, false
}

func heardAny(heard []string, prefix string) bool {
	for _, m := range heard {
		if strings.HasPrefix(m, prefix) {
			return true
		}
	}
	return false
}

// Timed notices through the API on the running hotline: one for every
// caller and one for another area. A caller in 朝阳区 hears the first and
// not the second (a caller in 海淀区 hears both, so area notices do play);
// once the first is withdrawn with DELETE, the next call goes straight to
// the welcome.
func TestNotices(t *testing.T) {
	env := loadEnv(t)
	end := time.Now().Add(time.Hour).Format(time.RFC3339)
	var all, haidian noticeView
	if code := env.post(t, "/api/v1/notices", map[string]string{"kind": "storm", "end": end, "text": "e2e: storm for everyone"}, &all); code != 201 ||
		all.ID == "" || all.Prompt != "notice_storm" {
		t.Fatalf("place the notice for every caller: %d %+v", code, all)
	}
	// Withdrawn whatever happens, so later tests hear no notice.
	t.Cleanup(func() { env.withdrawNotice(t, all.ID) })
	if code := env.post(t, "/api/v1/notices", map[string]string{"kind": "planned", "area": "海淀区", "end": end, "text": "e2e: 海淀区 only"}, &haidian); code != 201 ||
		haidian.Area != "海淀区" {
		t.Fatalf("place the 海淀区 notice: %d %+v", code, haidian)
	}
	t.Cleanup(func() { env.withdrawNotice(t, haidian.ID) })
	var list struct{ Notices []noticeView }
	if code := env.api(t, "GET", "/api/v1/notices", &list); code != 200 || len(list.Notices) < 2 {
		t.Fatalf("list: %d %+v", code, list)
	}

	played := func() (storm, planned float64) {
		return env.metric(t, `hotline_notices_played_total{kind="storm"}`), env.metric(t, `hotline_notices_played_total{kind="planned"}`)
	}
	// call places a call from phone, listens until stop plays, hangs up
	// after d and returns what was heard and how many notices of each kind
	// played. The storm notice lasts about 12 s, the planned one 15 s.
	call := func(phone, stop string, d time.Duration) (heard []string, storm, planned float64) {
		t.Helper()
		storm0, planned0 := played()
		c := caller(t, env, phone, pause(d), hangUp)
		heard, ok := env.listenUntil(t, phone, stop, d)
		c.wait(t, 40*time.Second)
		if !ok {
			t.Fatalf("caller %s never heard %s; heard %v", phone, stop, heard)
		}
		storm1, planned1 := played()
		return heard, storm1 - storm0, planned1 - planned0
	}

	// 18600186000 is 陈静 in 朝阳区 (deploy/dev/accounts.csv).
	heard, storm, planned := call("18600186000", "sound:hotline/main_menu", 22*time.Second)
	t.Logf("朝阳区 caller heard %v", heard)
	if !heardAny(heard, "sound:hotline/notice_storm") || heardAny(heard, "sound:hotline/notice_planned") || storm != 1 || planned != 0 {
		t.Fatalf("朝阳区 caller: heard %v, storm notices %v, planned %v; want the storm notice only", heard, storm, planned)
	}

	// 13300133000 is a shop in 海淀区: the area's notice follows the storm.
	heard, storm, planned = call("13300133000", "sound:hotline/notice_planned", 18*time.Second)
	t.Logf("海淀区 caller heard %v", heard)
	if !heardAny(heard, "sound:hotline/notice_storm") || storm != 1 || planned != 1 {
		t.Fatalf("海淀区 caller: heard %v, storm notices %v, planned %v; want both", heard, storm, planned)
	}

	code, w := env.withdrawNotice(t, all.ID)
	if code != 200 || w.WithdrawnAt == "" || w.WithdrawnBy == "" {
		t.Fatalf("withdraw: %d %+v", code, w)
	}
	var got noticeView
	if code := env.api(t, "GET", "/api/v1/notices/"+all.ID, &got); code != 200 || got.WithdrawnAt == "" {
		t.Fatalf("withdrawn notice: %d %+v", code, got)
	}
	heard, storm, planned = call("18600186000", "sound:hotline/main_menu", 10*time.Second)
	t.Logf("朝阳区 caller after the withdrawal heard %v", heard)
	if heardAny(heard, "sound:hotline/notice_") || storm != 0 || planned != 0 {
		t.Fatalf("after the withdrawal: heard %v, storm notices %v, planned %v; want none", heard, storm, planned)
	}
	if code, _ := env.withdrawNotice(t, "N20991231999"); code != 404 {
		t.Fatalf("withdraw an unknown notice: %d, want 404", code)
	}
}
