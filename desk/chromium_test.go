package desk_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
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
	"github.com/hotline95598/hotline/transfer"
	"github.com/hotline95598/hotline/workorders"
)

// agreeingOwner stands for the replica that holds the call: it agrees to
// every transfer.
type agreeingOwner struct {
	mu    sync.Mutex
	asked []transfer.Request
}

func (o *agreeingOwner) requests() []transfer.Request {
	o.mu.Lock()
	defer o.mu.Unlock()
	return append([]transfer.Request(nil), o.asked...)
}

func (o *agreeingOwner) Ask(_ context.Context, r transfer.Request) (transfer.Reply, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.asked = append(o.asked, r)
	return transfer.Reply{OK: true, CallID: r.CallID, FromAgent: "2001", FromQueue: "complaint", ToQueue: r.Queue}, nil
}

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
	must(reg.Ensure(ctx, []string{"2001", "2002"}))
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
	owner := &agreeingOwner{}
	api := httpapi.New(httpapi.Deps{Tokens: toks, Metrics: http.NotFoundHandler(), Tickets: tk, Orders: wo, Agents: reg, Callbacks: cbs,
		Events: agents.NewFeed(reg, zerolog.Nop()), Health: func(context.Context) map[string]httpapi.Part { return nil },
		Log: zerolog.Nop(), Policy: pol, Work: desk.NewWork(reg, recs, rdb, "t:"), Accounts: accts, Calls: recs,
		Recordings: recordings.New(rdb, "t:", t.TempDir(), pol.Recordings(), nil), Desk: desk.Handler(),
		Transfers: transfer.NewDesk(owner, reg, wo, recs, transfer.Queues(), zerolog.Nop())})
	// classify is another developer's action: the page's request is
	// caught here and checked, and answered with the order as it is.
	var classified []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == "POST" && strings.HasSuffix(r.URL.Path, "/actions") {
			raw, _ := io.ReadAll(r.Body)
			if strings.Contains(string(raw), `"classify"`) {
				classified = append(classified, string(raw))
				id := strings.TrimSuffix(strings.TrimPrefix(r.URL.Path, "/api/v1/tickets/"), "/actions")
				got, _ := tk.Get(r.Context(), id)
				w.Header().Set("Content-Type", "application/json")
				_ = json.NewEncoder(w).Encode(got)
				return
			}
			r.Body = io.NopCloser(bytes.NewReader(raw))
		}
		api.ServeHTTP(w, r)
	}))
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
	must(reg.Login(ctx, "2002")) // a colleague to consult
	_, err = fold.Once(ctx)
	must(err)
	must(b.WaitFor(bctx, `document.getElementById("pop").dataset.call === "c1" && document.querySelector('#pop [data-field="address"]').textContent !== ""`))
	must(b.WaitFor(bctx, `document.getElementById("order").dataset.ticket === "`+complaint.ID+`"`))
	shot("desk-pop.png")
	must(b.Type("#note-text", "客户反映抄表员态度差，要求道歉"))
	must(b.Click("#btn-note"))
	must(b.WaitFor(bctx, `document.querySelector('#audit tbody tr[data-action="note"]')`))
	// Transfer the caller to the billing queue (the call's owner is
	// simulated: it agrees; the real one is proven in e2e).
	must(b.WaitFor(bctx, `!document.getElementById("act-call-transfer").hidden`))
	sel := func(id, value string) {
		t.Helper()
		must(b.Eval(`(function(){var s=document.getElementById("`+id+`");s.value="`+value+`";s.dispatchEvent(new Event("change"));return s.value;})()`, nil))
	}
	sel("xfer-queue", "billing")
	must(b.Click("#btn-xfer"))
	must(b.WaitFor(bctx, `document.getElementById("toast").textContent.includes("电费")`))
	if asked := owner.requests(); len(asked) != 1 || asked[0].CallID != "c1" || asked[0].Queue != "billing" || asked[0].Agent != "2001" {
		t.Fatalf("transfer requests %+v", asked)
	}
	// Consult agent 2002, then complete (the owner agrees; the consult
	// events are published as the owner does).
	must(b.WaitFor(bctx, `!document.getElementById("act-call-consult").hidden && document.querySelector('#xfer-agent option[value="2002"]')`))
	sel("xfer-agent", "2002")
	must(b.Click("#btn-consult"))
	must(b.WaitFor(bctx, `!document.getElementById("act-consulting").hidden && document.getElementById("act-call-consult").hidden`))
	must(reg.Publish(ctx, "2001", agents.EventConsult, agents.Consult{Agent: "2001", CallID: "c1", ToAgent: "2002", State: "talking"}))
	must(b.WaitFor(bctx, `document.getElementById("consult-status").textContent === "正在与坐席 2002 通话，客户等待中" && !document.getElementById("btn-complete").disabled`))
	png := shot("desk-consult.png")
	r, err := b.Box("#act-consulting")
	must(err)
	if reg, err := browser.Inspect(png, r); err != nil || r.Width < 200 || reg.Ink < 0.05 || reg.Colours < 5 {
		t.Fatalf("the consultation panel is not drawn: %+v %+v %v", r, reg, err)
	}
	must(b.Click("#btn-lang"))
	must(b.WaitFor(bctx, `document.getElementById("consult-status").textContent === "Talking to agent 2002; the caller holds"`))
	shot("desk-consult-en.png")
	must(b.Click("#btn-lang"))
	must(b.Click("#btn-complete"))
	must(b.WaitFor(bctx, `document.getElementById("toast").textContent !== ""`))
	must(reg.Publish(ctx, "2001", agents.EventConsult, agents.Consult{Agent: "2001", CallID: "c1", ToAgent: "2002", State: "completed"}))
	must(b.WaitFor(bctx, `document.getElementById("act-consulting").hidden && document.getElementById("toast").textContent === "已转接给坐席 2002"`))
	if asked := owner.requests(); len(asked) != 3 || asked[1].Kind != transfer.KindConsult || asked[1].ToAgent != "2002" ||
		asked[1].Agent != "2001" || asked[2].Kind != transfer.KindComplete {
		t.Fatalf("attended transfer requests %+v", asked)
	}
	must(reg.Logout(ctx, "2002"))
	must(b.Click("#btn-lang"))
	must(b.WaitFor(bctx, `document.documentElement.lang === "en"`))
	shot("desk-note-en.png")
	must(b.Click("#btn-lang"))
	must(b.WaitFor(bctx, `document.documentElement.lang === "zh-CN"`))

	// Classify: class, then a subject of that class, then the grade.
	sel("cls-class", "service")
	var subjects []string
	must(b.Eval(`[...document.querySelectorAll("#cls-subject option")].map(o => o.value).filter(Boolean)`, &subjects))
	if strings.Join(subjects, ",") != "staff_attitude,work_quality,broken_promise,broken_time_limit" {
		t.Fatalf("subjects of class service: %v", subjects)
	}
	sel("cls-subject", "staff_attitude")
	sel("cls-grade", "IV")
	must(b.Click("#btn-classify"))
	must(b.WaitFor(bctx, `document.getElementById("toast").textContent === "已分类"`))
	if len(classified) != 1 || classified[0] != `{"action":"classify","class":"service","subject":"staff_attitude","grade":"IV"}` {
		t.Fatalf("classify requests %q", classified)
	}

	// Resolve the complaint: register, assign to the agent, start, resolve.
	sel("resolve-result", "explained")
	must(b.Type("#resolve-note", "已向客户解释并致歉"))
	must(b.Click("#btn-resolve"))
	must(b.WaitFor(bctx, `document.querySelector('#order [data-field="result"]').textContent === "已解释"`))
	res, err := tk.Get(ctx, complaint.ID)
	must(err)
	var steps []string
	for _, a := range res.Audit {
		steps = append(steps, a.Action)
	}
	if res.Result != "explained" || res.AssignedTo != "2001" || !strings.Contains(strings.Join(steps, ","), "register,assign,start,resolve") {
		t.Fatalf("resolved order %s %s, audit %v", res.Result, res.AssignedTo, steps)
	}

	// A new work order for the caller, then the wrap-up code.
	sel("create-type", "consultation")
	must(b.Type("#create-note", "询问峰谷电价"))
	must(b.Click("#btn-create"))
	must(b.WaitFor(bctx, `document.querySelector('#order [data-field="type"]').dataset.value === "consultation"`))
	var created string
	must(b.Eval(`document.getElementById("order").dataset.ticket`, &created))
	if c, err := tk.Get(ctx, created); err != nil || c.Phone != "13800138000" || c.Account != "1000000001" || c.Address == "" {
		t.Fatalf("created %+v %v", c, err)
	}
	must(b.WaitFor(bctx, `document.querySelector('#open-orders li[data-ticket="`+created+`"]')`))
	sel("wrapup-code", "order_taken")
	must(b.Click("#btn-wrapup"))
	must(b.WaitFor(bctx, `document.getElementById("wrapup-done").textContent.includes("c1")`))
	if v := rdb.HGet(ctx, "t:cdr:c1", "wrap_up").Val(); v != "order_taken" {
		t.Fatalf("wrap-up code %q", v)
	}

	// Pause with a reason of the policy, then ready.
	must(reg.Release(ctx, "2001", "c1", true)) // the call ends
	must(b.WaitFor(bctx, `!document.getElementById("btn-pause").disabled`))
	sel("pause-reason", "training")
	must(b.Click("#btn-pause"))
	must(b.WaitFor(bctx, `document.getElementById("state").dataset.state === "paused"`))
	if a, _ := reg.Get(ctx, "2001"); a.Reason != "training" {
		t.Fatalf("paused with %q", a.Reason)
	}
	shot("desk-paused.png")

	// A caller another agent transferred: the pop says so, and from whom.
	must(b.Click("#btn-ready"))
	must(b.WaitFor(bctx, `document.getElementById("state").dataset.state === "available"`))
	must(rdb.HSet(ctx, "t:call:c2", "owner", "test", "phone", "13800138000", "ticket", complaint.ID).Err())
	if id, ok, err := reg.ClaimIdle(ctx, "c2"); err != nil || !ok || id != "2001" {
		t.Fatalf("claim %s %v %v", id, ok, err)
	}
	must(reg.Publish(ctx, "2001", agents.EventScreenPop, agents.ScreenPop{Agent: "2001", CallID: "c2", Phone: "13800138000",
		Account: "1000000001", Name: "张伟", TicketID: complaint.ID, MenuPath: "3", Queue: "billing", Priority: "normal", WaitedS: 3,
		Transfer: true, FromAgent: "2002", FromQueue: "complaint"}))
	must(b.WaitFor(bctx, `document.getElementById("pop").dataset.transfer === "true" && !document.getElementById("pop-xfer").hidden`))
	var from string
	must(b.Eval(`document.getElementById("pop-xfer").textContent + " " + document.getElementById("pop-from").textContent`, &from))
	if from != "转接 由坐席 2002 从「投诉」队列转入" {
		t.Fatalf("transfer pop says %q", from)
	}
	shot("desk-transfer-pop.png")
	// The same caller passed on after a consultation: the pop says so.
	must(reg.Publish(ctx, "2001", agents.EventScreenPop, agents.ScreenPop{Agent: "2001", CallID: "c2", Phone: "13800138000",
		Account: "1000000001", Name: "张伟", TicketID: complaint.ID, MenuPath: "3", Queue: "complaint", Priority: "normal", WaitedS: 3,
		Transfer: true, TransferKind: "attended", FromAgent: "2002", FromQueue: "complaint"}))
	must(b.WaitFor(bctx, `document.getElementById("pop").dataset.transferKind === "attended"`))
	must(b.Eval(`document.getElementById("pop-xfer").textContent + " " + document.getElementById("pop-from").textContent`, &from))
	if from != "咨询转接 坐席 2002 咨询后转入（原「投诉」队列）" {
		t.Fatalf("attended transfer pop says %q", from)
	}
	shot("desk-attended-pop.png")
	got, err := tk.Get(ctx, complaint.ID)
	must(err)
	noted := false
	for _, a := range got.Audit {
		noted = noted || (a.Action == "note" && a.Actor == "zhang.wei" && strings.Contains(a.Note, "态度差"))
	}
	if !noted {
		t.Fatalf("no note by the agent in %+v", got.Audit)
	}
	if errs := b.Errors(); len(errs) > 0 {
		t.Fatalf("page errors: %v", errs)
	}
}
