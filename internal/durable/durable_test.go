package durable_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hotline95598/hotline/accounts"
	"github.com/hotline95598/hotline/callbacks"
	"github.com/hotline95598/hotline/internal/durable"
	"github.com/hotline95598/hotline/internal/redistest"
	"github.com/hotline95598/hotline/policy"
	"github.com/hotline95598/hotline/tickets"
	"github.com/redis/go-redis/v9"
)

// A master without replicas never confirms a write: with the policy active
// the ticket and the callback are refused as not replicated (and OnShort
// counts them); with the policy off the same writes are accepted.
func TestUnconfirmedWritesAreRefused(t *testing.T) {
	srv := redistest.Start(t)
	ctx := context.Background()
	for _, tc := range []struct {
		name   string
		policy durable.Policy
		want   error
	}{
		{"off", durable.Policy{}, nil},
		{"one replica wanted", durable.Policy{Replicas: 1, Timeout: 50 * time.Millisecond}, durable.ErrNotReplicated},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var short atomic.Int32
			tc.policy.OnShort = func() { short.Add(1) }
			rdb := srv.Client(t)
			ts := tickets.New(rdb, "t:"+tc.name+":", nil)
			ts.SetReplicaAck(tc.policy)
			tk, err := ts.Create(ctx, tickets.Ticket{Type: tickets.TypeFault, Phone: "13800138000"})
			if !errors.Is(err, tc.want) || (tc.want == nil && err != nil) {
				t.Fatalf("create ticket: %v; want %v", err, tc.want)
			}
			if tc.want == nil {
				// A change is held to the same rule.
				if err := ts.AddRepeatCall(ctx, tk.ID, ""); err != nil {
					t.Fatalf("change ticket: %v", err)
				}
			} else {
				if !strings.Contains(err.Error(), "tickets: create 2") {
					t.Fatalf("the error should name the ticket written on the master: %v", err)
				}
				// A change to a ticket written without the rule.
				tk, err := tickets.New(rdb, "t:"+tc.name+":", nil).Create(ctx, tickets.Ticket{Type: tickets.TypeFault, Phone: "13800138000"})
				if err != nil {
					t.Fatal(err)
				}
				if err := ts.AddRepeatCall(ctx, tk.ID, ""); !errors.Is(err, tc.want) {
					t.Fatalf("change ticket: %v; want %v", err, tc.want)
				}
			}
			cs := callbacks.NewStore(rdb, "t:"+tc.name+":", policy.Default().Callbacks(), nil)
			cs.SetReplicaAck(tc.policy)
			_, _, err = cs.Schedule(ctx, callbacks.Request{Phone: "13800138000", Reason: "test", Kind: callbacks.KindAbandoned, AnyHour: true})
			if !errors.Is(err, tc.want) || (tc.want == nil && err != nil) {
				t.Fatalf("schedule callback: %v; want %v", err, tc.want)
			}
			if wantShort := map[bool]int32{true: 3, false: 0}[tc.want != nil]; short.Load() != wantShort {
				t.Fatalf("OnShort called %d times; want %d", short.Load(), wantShort)
			}
		})
	}
}

// flushAfterFirstLoad flushes the script cache right after the first SCRIPT
// LOAD the client sends: a failover to a replica (which has no scripts)
// between loading a script and using it.
type flushAfterFirstLoad struct {
	other *redis.Client
	done  atomic.Bool
}

func (h *flushAfterFirstLoad) DialHook(next redis.DialHook) redis.DialHook { return next }
func (h *flushAfterFirstLoad) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		err := next(ctx, cmd)
		if args := cmd.Args(); len(args) > 1 && cmd.Name() == "script" && fmt.Sprint(args[1]) == "load" && h.done.CompareAndSwap(false, true) {
			if ferr := h.other.ScriptFlush(ctx).Err(); ferr != nil {
				return ferr
			}
		}
		return err
	}
}
func (h *flushAfterFirstLoad) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return next
}

const accountsCSV = `account,name,phones,address,area,transformer,class,balance,last_bill,last_bill_date,birth_year
1000000001,张伟,13800138000,北京市朝阳区建国路88号,朝阳区,TX-0101,residential,123.45,88.60,2026-10-31,1982
1000000002,李娜,13900139000,北京市朝阳区望京西园,朝阳区,TX-0102,residential,-20.50,156.30,2026-10-31,1990
`

// Every script sent in a pipeline survives Redis losing its scripts (what a
// failover to a replica looks like): the accounts import, even when the
// cache is lost between its load and its use, and the pipelined
// cancellation of callbacks.
func TestPipelinedScriptsSurviveScriptFlush(t *testing.T) {
	srv := redistest.Start(t)
	ctx := context.Background()
	rdb := srv.Client(t)
	admin := srv.Client(t)
	rdb.AddHook(&flushAfterFirstLoad{other: admin})

	as := accounts.New(rdb, "s:")
	n, err := as.Import(ctx, strings.NewReader(accountsCSV))
	if err != nil || n != 2 {
		t.Fatalf("import with the script cache lost after its load: %d, %v", n, err)
	}
	if a, err := as.ByPhone(ctx, "13900139000"); err != nil || a.Number != "1000000002" {
		t.Fatalf("imported account: %+v %v", a, err)
	}

	cs := callbacks.NewStore(rdb, "s:", policy.Default().Callbacks(), nil)
	kinds := []string{callbacks.KindAbandoned, callbacks.KindScheduled}
	var want []string
	for _, k := range kinds {
		id, _, err := cs.Schedule(ctx, callbacks.Request{Phone: "13800138000", Reason: "test", Kind: k, AnyHour: true,
			At: time.Now().Add(time.Hour)})
		if err != nil {
			t.Fatal(err)
		}
		want = append(want, id)
	}
	if _, err := cs.CancelServed(ctx, "13700000000", kinds...); err != nil { // loads the script
		t.Fatal(err)
	}
	if err := admin.ScriptFlush(ctx).Err(); err != nil {
		t.Fatal(err)
	}
	got, err := cs.CancelServed(ctx, "13800138000", kinds...)
	if err != nil || strings.Join(got, ",") != strings.Join(want, ",") {
		t.Fatalf("cancel after SCRIPT FLUSH: %v %v; want %v", got, err, want)
	}
	for _, id := range want {
		if cb, err := cs.Get(ctx, id); err != nil || cb.Status != callbacks.Cancelled {
			t.Fatalf("callback %s: %+v %v", id, cb, err)
		}
	}
}
