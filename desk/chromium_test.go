package desk_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/hotline95598/hotline/accounts"
	"github.com/hotline95598/hotline/agents"
	"github.com/hotline95598/hotline/callbacks"
	"github.com/hotline95598/hotline/cdr"
	"github.com/hotline95598/hotline/config"
	"github.com/hotline95598/hotline/desk"
	"github.com/hotline95598/hotline/httpapi"
	"github.com/hotline95598/hotline/internal/browser"
	"github.com/hotline95598/hotline/internal/redistest"
	"github.com/hotline95598/hotline/metrics"
	"github.com/hotline95598/hotline/outages"
	"github.com/hotline95598/hotline/policy"
	"github.com/hotline95598/hotline/recordings"
	"github.com/hotline95598/hotline/tickets"
	"github.com/hotline95598/hotline/workorders"
)

// TestChromiumDesk drives the desk page in headless Chromium against the
// real API on a real Redis, with a call simulated the way the queue makes
// it (claim, screen pop, answer). It saves desk-*.png in
// $DESK_SCREENSHOT_DIR and runs only when that is set (it needs chromium):
// to look at the page after changing it. e2e/desk_test.go does the same
// with a real call.
func TestChromiumDesk(t *testing.T) {
	dir := os.Getenv("DESK_SCREENSHOT_DIR")
	if dir == "" {
		t.Skip("set DESK_SCREENSHOT_DIR to render the desk in chromium")
	}
	bin, err := exec.LookPath("chromium")
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	rdb := redistest.Start(t).Client(t)
	pol := policy.Default()
	reg := agents.NewRegistry(rdb, "t:", nil)
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(reg.Ensure(ctx, []string{"2001"}))
	tk := tickets.New(rdb, "t:", nil)
	tk.SetTaxonomy(pol)
	cbs := callbacks.NewStore(rdb, "t:", pol.Callbacks(), nil)
	wo := workorders.New(tk, pol, cbs, outages.New(rdb, "t:", nil), rdb, "t:", "test", workorders.Config{}, metrics.Discard(), zerolog.Nop(), nil)
	recs := cdr.New(rdb, "t:", pol.Records(), nil)
	accts := accounts.New(rdb, "t:")
	must(accts.Put(ctx, accounts.Account{Number: "1000000001", Name: "张伟", Phones: []string{"13800138000"},
		Address: "北京市海淀区中关村大街1号", Area: "海淀区", Class: "important", BirthYear: 1952}))
	complaint, err := tk.Create(ctx, tickets.Ticket{Type: tickets.TypeComplaint, Phone: "13800138000", Account: "1000000001", MenuPath: "3"})
	must(err)
	_, err = tk.Create(ctx, tickets.Ticket{Type: tickets.TypeFault, Phone: "13800138000", Account: "1000000001"})
	must(err)
	const agentToken = "desk-agent-2001-token"
	toks, err := config.ParseTokens(strings.NewReader(config.TokenLine(agentToken, config.RoleAgent, "2001", "zhang.wei")), []string{"2001"})
	must(err)
	fold := recs.NewFold(reg.EventsKey(), "test", zerolog.Nop())
	api := httpapi.New(httpapi.Deps{Tokens: toks, Metrics: http.NotFoundHandler(), Tickets: tk, Orders: wo, Agents: reg, Callbacks: cbs,
		Events: agents.NewFeed(reg, zerolog.Nop()), Health: func(context.Context) map[string]httpapi.Part { return nil },
		Log: zerolog.Nop(), Policy: pol, Work: desk.NewWork(reg, recs, rdb, "t:"), Accounts: accts, Calls: recs,
		Recordings: recordings.New(rdb, "t:", t.TempDir(), pol.Recordings(), nil), Desk: desk.Handler()})
	srv := httptest.NewServer(api)
	defer srv.Close()

	bctx, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	b, err := browser.Launch(bctx, bin, 1440, 900)
	must(err)
	defer b.Close()
	b.Deadline(time.Now().Add(70 * time.Second))
	shot := func(name string) []byte {
		t.Helper()
		png, err := b.Screenshot()
		must(err)
		must(os.WriteFile(filepath.Join(dir, name), png, 0o644))
		return png
	}
	must(b.Navigate(srv.URL + "/desk/"))
	must(b.WaitFor(bctx, `document.body && document.body.dataset.ready === "true"`))
	must(b.Type("#token", agentToken))
	must(b.Click("#btn-signin"))
	must(b.WaitFor(bctx, `document.getElementById("conn").dataset.state === "connected"`))
	must(b.WaitFor(bctx, `document.getElementById("state").dataset.state === "logged_out"`))
	must(b.Click("#btn-login"))
	must(b.WaitFor(bctx, `document.getElementById("state").dataset.state === "available"`))

	// A call, as the queue makes it.
	must(rdb.HSet(ctx, "t:call:c1", "owner", "test", "phone", "13800138000", "ticket", complaint.ID).Err())
	if id, ok, err := reg.ClaimIdle(ctx, "c1"); err != nil || !ok || id != "2001" {
		t.Fatalf("claim %s %v %v", id, ok, err)
	}
	must(reg.Publish(ctx, "2001", agents.EventScreenPop, agents.ScreenPop{Agent: "2001", CallID: "c1", Phone: "13800138000",
		Account: "1000000001", Name: "张伟", TicketID: complaint.ID, MenuPath: "3", Queue: "complaint", Priority: "important", WaitedS: 12.4}))
	must(reg.Answered(ctx, "2001", "c1"))
	_, err = fold.Once(ctx)
	must(err)
	must(b.WaitFor(bctx, `document.getElementById("pop").dataset.call === "c1" && document.querySelector('#pop [data-field="address"]').textContent !== ""`))
	must(b.WaitFor(bctx, `document.getElementById("order").dataset.ticket === "`+complaint.ID+`"`))
	shot("desk-pop.png")
	must(b.Type("#note-text", "客户反映抄表员态度差，要求道歉"))
	must(b.Click("#btn-note"))
	must(b.WaitFor(bctx, `document.querySelector('#audit tbody tr[data-action="note"]')`))
	must(b.Click("#btn-lang"))
	must(b.WaitFor(bctx, `document.documentElement.lang === "en"`))
	shot("desk-note-en.png")
	got, err := tk.Get(ctx, complaint.ID)
	must(err)
	if last := got.Audit[len(got.Audit)-1]; last.Action != "note" || last.Actor != "zhang.wei" || !strings.Contains(last.Note, "态度差") {
		t.Fatalf("last audit entry %+v", last)
	}
	if errs := b.Errors(); len(errs) > 0 {
		t.Fatalf("page errors: %v", errs)
	}
}
