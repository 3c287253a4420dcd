package durable_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hotline95598/hotline/accounts"
	"github.com/hotline95598/hotline/callbacks"
	"github.com/hotline95598/hotline/config"
	"github.com/hotline95598/hotline/internal/durable"
	"github.com/hotline95598/hotline/internal/redistest"
	"github.com/hotline95598/hotline/policy"
	"github.com/hotline95598/hotline/tickets"
	"github.com/redis/go-redis/v9"
)

// The controller's Redis client built from HOTLINE_REDIS_SENTINELS follows a
// failover: real redis-server and redis-sentinel processes (1 master, 2
// replicas, 3 sentinels); the master is killed while tickets are being
// created; the client reaches the promoted replica by itself, every ticket
// whose creation was acknowledged is on the new master, and every script
// (Lua through Run, pipelined EVALSHA) runs there although the promoted
// replica never had them loaded.
func TestSentinelFailoverKeepsAcknowledgedWrites(t *testing.T) {
	if testing.Short() {
		t.Skip("a real failover takes seconds")
	}
	const pw = "sentinel-test-pw"
	g := redistest.StartSentinel(t, redistest.SentinelOptions{Password: pw})
	vars := map[string]string{
		"HOTLINE_API_TOKEN": "test-token-123", "HOTLINE_ARI_PASSWORD": "pw",
		"HOTLINE_REDIS_SENTINELS": strings.Join(g.Sentinels, ","), "HOTLINE_REDIS_MASTER": redistest.MasterName,
		"HOTLINE_REDIS_PASSWORD": pw,
	}
	cfg, err := config.Load(func(k string) (string, bool) { v, ok := vars[k]; return v, ok })
	if err != nil {
		t.Fatal(err)
	}
	if cfg.RedisMinReplicas != 1 {
		t.Fatalf("with sentinels a write waits for %d replicas; want 1 by default", cfg.RedisMinReplicas)
	}
	// The controller's own timeouts (service.New).
	rdb, err := cfg.RedisClient(redis.Options{DialTimeout: 2 * time.Second, ReadTimeout: 2 * time.Second,
		WriteTimeout: 2 * time.Second, MaxRetries: 2})
	if err != nil {
		t.Fatal(err)
	}
	defer rdb.Close()
	ctx := context.Background()
	ack := cfg.ReplicaAck()
	ts := tickets.New(rdb, "", nil)
	ts.SetReplicaAck(ack)
	cs := callbacks.NewStore(rdb, "hotline:", policy.Default().Callbacks(), nil)
	cs.SetReplicaAck(ack)
	as := accounts.New(rdb, "hotline:")
	if _, err := as.Import(ctx, strings.NewReader(accountsCSV)); err != nil {
		t.Fatal(err)
	}
	cbID, _, err := cs.Schedule(ctx, callbacks.Request{Phone: "13800138000", Reason: "before", Kind: callbacks.KindAbandoned, AnyHour: true})
	if err != nil {
		t.Fatalf("schedule before the failover: %v", err)
	}

	// Callers report faults all through the failover.
	var (
		mu      sync.Mutex
		acked   []string
		refused = map[string]int{}
		stop    = make(chan struct{})
		wg      sync.WaitGroup
	)
	for w := range 3 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				tk, err := ts.Create(ctx, tickets.Ticket{Type: tickets.TypeFault, Phone: "1380013800" + string(rune('0'+w))})
				mu.Lock()
				if err == nil {
					acked = append(acked, tk.ID)
				} else if errors.Is(err, durable.ErrNotReplicated) {
					refused["not replicated"]++
				} else {
					refused["redis error"]++
				}
				mu.Unlock()
				time.Sleep(10 * time.Millisecond)
			}
		}()
	}
	time.Sleep(300 * time.Millisecond)
	start := time.Now()
	old, promoted := g.KillMaster(t, 60*time.Second)
	t.Logf("master %s killed; sentinels promoted %s after %.1f s", old, promoted, time.Since(start).Seconds())
	mu.Lock()
	before := len(acked)
	mu.Unlock()
	// Writes are acknowledged again once the client found the new master
	// and the other replica follows it.
	deadline := time.Now().Add(30 * time.Second)
	for {
		mu.Lock()
		n := len(acked)
		mu.Unlock()
		if n >= before+20 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no acknowledged writes after the failover (%d before, refused %v)", before, refused)
		}
		time.Sleep(50 * time.Millisecond)
	}
	close(stop)
	wg.Wait()
	t.Logf("%d tickets acknowledged (%d before the master died was found), refused while failing over: %v; writes again %.1f s after the kill",
		len(acked), before, refused, time.Since(start).Seconds())

	// Every acknowledged ticket is on the new master, read directly.
	direct := redis.NewClient(&redis.Options{Addr: promoted, Password: pw})
	defer direct.Close()
	if role, err := direct.Do(ctx, "ROLE").Slice(); err != nil || role[0] != "master" {
		t.Fatalf("%s role: %v %v", promoted, role, err)
	}
	for _, id := range acked {
		if n, err := direct.Exists(ctx, "hotline:ticket:"+id).Result(); err != nil || n != 1 {
			t.Errorf("acknowledged ticket %s missing on the new master %s (%v)", id, promoted, err)
		}
	}
	if n, _ := direct.Exists(ctx, "hotline:callback:"+cbID).Result(); n != 1 {
		t.Errorf("acknowledged callback %s missing on the new master", cbID)
	}

	// Scripts run on the new master, which never loaded them.
	if n, err := as.Import(ctx, strings.NewReader(accountsCSV)); err != nil || n != 2 {
		t.Errorf("accounts import after the failover: %d %v", n, err)
	}
	id2, created, err := cs.Schedule(ctx, callbacks.Request{Phone: "13900139000", Reason: "after", Kind: callbacks.KindAbandoned, AnyHour: true})
	if err != nil || !created {
		t.Errorf("schedule after the failover: %v %v", created, err)
	}
	got, err := cs.CancelServed(ctx, "13900139000", callbacks.KindAbandoned)
	if err != nil || len(got) != 1 || got[0] != id2 {
		t.Errorf("cancel after the failover: %v %v", got, err)
	}
	if _, err := ts.Get(ctx, acked[len(acked)-1]); err != nil {
		t.Errorf("read through the client after the failover: %v", err)
	}
}
