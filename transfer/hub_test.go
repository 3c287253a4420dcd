package transfer

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/hotline95598/hotline/internal/redistest"
)

// Two replicas on one Redis: a request asked on replica A reaches the call
// bridged on replica B, whose answer comes back to A; a second request
// while the first is pending is refused; a call nobody holds gets no
// answer.
func TestHubAcrossReplicas(t *testing.T) {
	rdb := redistest.Start(t).Client(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	a, b := NewHub(rdb, "t:", zerolog.Nop()), NewHub(rdb, "t:", zerolog.Nop())
	a.SetWait(time.Second)
	go a.Run(ctx)
	go b.Run(ctx)
	deadline := time.Now().Add(5 * time.Second)
	for rdb.PubSubNumSub(ctx, "t:calls:transfer").Val()["t:calls:transfer"] < 2 {
		if time.Now().After(deadline) {
			t.Fatal("hubs did not subscribe")
		}
		time.Sleep(10 * time.Millisecond)
	}
	orders, stop := b.Watch("c1")
	defer stop()

	for _, tc := range []struct {
		name  string
		req   Request
		reply func(o Order) // what B's call does with the order; nil: nothing arrives
		want  Reply
		err   error
	}{
		{"answered by the owner", Request{ID: "r1", CallID: "c1", Queue: "billing", By: "sup"},
			func(o Order) { o.Answer(ctx, Reply{OK: true, CallID: o.CallID, ToQueue: o.Queue}) },
			Reply{OK: true, CallID: "c1", ToQueue: "billing"}, nil},
		{"refused by the owner", Request{ID: "r2", CallID: "c1", Queue: "billing", Agent: "1009", By: "a"},
			func(o Order) { o.Answer(ctx, Reply{CallID: o.CallID, Error: "not your call"}) },
			Reply{CallID: "c1", Error: "not your call"}, nil},
		{"a call nobody holds", Request{ID: "r3", CallID: "c9", Queue: "billing", By: "sup"}, nil, Reply{}, ErrNoOwner},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.reply != nil {
				go func() { tc.reply(<-orders) }()
			}
			got, err := a.Ask(ctx, tc.req)
			if !errors.Is(err, tc.err) || got != tc.want {
				t.Fatalf("reply %+v %v, want %+v %v", got, err, tc.want, tc.err)
			}
		})
	}

	// A second request while the first waits in the call's inbox.
	done := make(chan Reply, 1)
	go func() { r, _ := a.Ask(ctx, Request{ID: "r4", CallID: "c1", Queue: "fault", By: "sup"}); done <- r }()
	deadline = time.Now().Add(5 * time.Second)
	for len(orders) == 0 {
		if time.Now().After(deadline) {
			t.Fatal("first request not delivered")
		}
		time.Sleep(5 * time.Millisecond)
	}
	second, err := a.Ask(ctx, Request{ID: "r5", CallID: "c1", Queue: "billing", By: "sup"})
	if err != nil || second.OK || second.Error == "" {
		t.Fatalf("second request: %+v %v, want refused", second, err)
	}
	o := <-orders
	o.Answer(ctx, Reply{OK: true, CallID: "c1"})
	if r := <-done; !r.OK {
		t.Fatalf("first request: %+v", r)
	}
}
