package recovery

import (
	"context"
	"testing"

	"github.com/hotline95598/hotline/internal/redistest"
	"github.com/rs/zerolog"
)

// A call that ends between the sweep's channel list and its ownership check
// is still ours: never an orphan, so its caller is not called back.
func TestEndedCallIsNotAnOrphan(t *testing.T) {
	rdb := redistest.Start(t).Client(t)
	c := newCalls(rdb, "t:", "r1", zerolog.Nop())
	_, done := c.Start(context.Background(), "call1", "13800138000")
	if !c.wasLocal("call1") || !c.wasLocal("call1-agent-1") {
		t.Fatal("an active call and its agent leg are not ours")
	}
	done()
	if !c.wasLocal("call1") {
		t.Fatal("a call that just ended is taken for someone else's")
	}
	if c.wasLocal("call2") {
		t.Fatal("a call we never had is ours")
	}
}

// Every replica reads who owns a call (a monitor request goes there); an
// ended call has no owner.
func TestOwnerOfACall(t *testing.T) {
	rdb := redistest.Start(t).Client(t)
	ctx := context.Background()
	a, b := newCalls(rdb, "t:", "node-a", zerolog.Nop()), newCalls(rdb, "t:", "node-b", zerolog.Nop())
	_, done := b.Start(ctx, "call1", "13800138000")
	if owner, err := a.Owner(ctx, "call1"); err != nil || owner != "node-b" {
		t.Fatalf("owner of call1 as node-a sees it: %q %v, want node-b", owner, err)
	}
	done()
	if owner, err := a.Owner(ctx, "call1"); err != nil || owner != "" {
		t.Fatalf("owner of an ended call: %q %v, want none", owner, err)
	}
}
