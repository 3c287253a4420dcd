//go:build e2ecluster

package cluster

import (
	"context"
	"encoding/json"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// reportThenLeave reports a fault and then either hears the hotline hang up
// (the apology when the ticket could not be written, or the goodbye) or
// hangs up itself after a while: both are a proper end of the call.
func reportThenLeave(t *testing.T, c *cluster, phone string) *sipp {
	return caller(t, c.Edge, phone, pause(1500*time.Millisecond), press("1"), step(`<recv request="BYE" timeout="6000" ontimeout="1"/>
<send><![CDATA[
SIP/2.0 200 OK
[last_Via:]
[last_From:]
[last_To:]
[last_Call-ID:]
[last_CSeq:]
Contact: <sip:[local_ip]:[local_port]>
Content-Length: 0

]]></send>
<nop next="2"/>
<label id="1"/>`), hangUp, step(`<label id="2"/>`))
}

func (c *cluster) sentinelMaster(t *testing.T) string {
	t.Helper()
	for _, addr := range c.Sentinels {
		sc := redis.NewSentinelClient(&redis.Options{Addr: addr, DialTimeout: time.Second, ReadTimeout: time.Second})
		hp, err := sc.GetMasterAddrByName(context.Background(), c.Master).Result()
		_ = sc.Close()
		if err == nil && len(hp) == 2 {
			return hp[0] + ":" + hp[1]
		}
	}
	t.Fatal("no sentinel names a master")
	return ""
}

// createdTickets are the ids the controllers logged as created (and so read
// out to the caller) in the log text.
func createdTickets(t *testing.T, logs string) []string {
	var ids []string
	for _, line := range strings.Split(logs, "\n") {
		if !strings.Contains(line, `"ticket created"`) {
			continue
		}
		var rec struct {
			TicketID string `json:"ticket_id"`
		}
		if err := json.Unmarshal([]byte(line), &rec); err == nil && rec.TicketID != "" {
			ids = append(ids, rec.TicketID)
		}
	}
	return ids
}

// The Redis master is killed while callers report faults on both nodes.
// Sentinel promotes a replica, both controllers follow it (their /healthz
// says Redis is fine again), every ticket a caller was given is on the new
// master, new calls get tickets, and the old master returns as a replica.
func TestRedisMasterKilledWhileTicketsAreWritten(t *testing.T) {
	c := loadCluster(t)
	c.healthy(t, 30*time.Second)
	for _, n := range c.nodes() {
		if _, h := healthOf(n); !strings.Contains(h.Parts["redis"].Detail, "sentinel") {
			t.Skipf("node %s's controller does not reach Redis through Sentinel yet (/healthz: %q): "+
				"service must build its client with config.RedisClient and report config.RedisTarget", n.Name, h.Parts["redis"].Detail)
		}
	}
	logs := map[string]logMark{}
	for _, n := range c.nodes() {
		logs[n.Name] = mark(filepath.Join(n.Run, "hotline.log"))
	}
	old := c.sentinelMaster(t)
	restored := false
	t.Cleanup(func() {
		if !restored {
			c.clusterCmd(t, "redis-up")
		}
	})

	// Watch what each controller's /healthz says through the outage.
	stopWatch := make(chan struct{})
	outage := map[string]time.Duration{}
	var watched sync.WaitGroup
	var mu sync.Mutex
	for _, n := range c.nodes() {
		watched.Add(1)
		go func() {
			defer watched.Done()
			for {
				select {
				case <-stopWatch:
					return
				case <-time.After(200 * time.Millisecond):
				}
				if _, h := healthOf(n); !h.Parts["redis"].OK {
					mu.Lock()
					outage[n.Name] += 200 * time.Millisecond
					mu.Unlock()
				}
			}
		}()
	}
	const callers = 16
	var calls []*sipp
	var killed time.Time
	for i := range callers {
		calls = append(calls, reportThenLeave(t, c, uniquePhone(400+i)))
		if i == 3 {
			pid := pidOf(t, filepath.Join(c.Run, "redis-"+old[strings.LastIndex(old, ":")+1:], "redis.pid"))
			if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
				t.Fatalf("kill the master %s (pid %d): %v", old, pid, err)
			}
			killed = time.Now()
			t.Logf("killed the Redis master %s", old)
		}
		time.Sleep(700 * time.Millisecond)
	}
	var promoted string
	eventually(t, 30*time.Second, "Sentinel to promote a replica", func() bool {
		promoted = c.sentinelMaster(t)
		return promoted != old
	})
	t.Logf("Sentinel promoted %s (seen %.1f s after the kill)", promoted, time.Since(killed).Seconds())
	c.healthy(t, 60*time.Second)
	for _, n := range c.nodes() {
		eventually(t, 30*time.Second, "node "+n.Name+" to report Redis ok", func() bool {
			_, h := healthOf(n)
			return h.Parts["redis"].OK
		})
	}
	close(stopWatch)
	watched.Wait()
	for _, n := range c.nodes() {
		_, h := healthOf(n)
		t.Logf("node %s /healthz reported Redis down for about %.1f s; now: %s", n.Name, outage[n.Name].Seconds(), h.Parts["redis"].Detail)
	}
	t.Logf("both controllers healthy again %.1f s after the kill (the last callers were still being placed)", time.Since(killed).Seconds())
	for _, s := range calls {
		s.mustSucceed(t, 90*time.Second)
	}

	// Every ticket a caller heard is there, read through either node and
	// on the new master itself.
	var ids []string
	for _, n := range c.nodes() {
		ids = append(ids, createdTickets(t, logs[n.Name].since(t))...)
	}
	if len(ids) == 0 {
		t.Fatal("no ticket was created during the test")
	}
	direct := redis.NewClient(&redis.Options{Addr: promoted, Password: c.Password})
	defer direct.Close()
	for _, id := range ids {
		for _, n := range c.nodes() {
			if code := c.api(t, n, "GET", "/api/v1/tickets/"+id, nil); code != 200 {
				t.Errorf("ticket %s (read out to a caller) on node %s: HTTP %d", id, n.Name, code)
			}
		}
		if k, _ := direct.Keys(context.Background(), "*ticket:"+id).Result(); len(k) != 1 {
			t.Errorf("ticket %s is not on the new master %s", id, promoted)
		}
	}
	t.Logf("%d of %d callers were given a ticket number; every one is on the new master", len(ids), callers)

	// New calls get tickets on both nodes.
	var after []*sipp
	var phones []string
	for i := range 2 {
		p := uniquePhone(430 + i)
		phones = append(phones, p)
		after = append(after, faultReport(t, c, p))
		time.Sleep(200 * time.Millisecond)
	}
	for _, s := range after {
		s.mustSucceed(t, 60*time.Second)
	}
	for _, p := range phones {
		if ts := c.tickets(t, c.A, p); len(ts) != 1 {
			t.Errorf("call after the failover from %s: tickets %+v", p, ts)
		}
	}

	// The old master comes back as a replica of the new one.
	c.clusterCmd(t, "redis-up")
	restored = true
	oldc := redis.NewClient(&redis.Options{Addr: old, Password: c.Password})
	defer oldc.Close()
	eventually(t, 30*time.Second, old+" back as a replica", func() bool {
		role, err := oldc.Do(context.Background(), "ROLE").Slice()
		return err == nil && len(role) > 0 && fmt.Sprint(role[0]) == "slave"
	})
}
