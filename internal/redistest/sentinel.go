package redistest

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// MasterName is the name the test sentinels monitor the master under.
const MasterName = "hotline-test"

// Sentinel is a replicated Redis watched by Sentinel, all on loopback: one
// master, two replicas and three sentinels (quorum 2), as in production.
// Everything stops when the test ends.
type Sentinel struct {
	Servers   []*Server // Servers[0] is the master the group starts with
	Sentinels []string  // the sentinels' addresses
	Password  string    // requirepass of the servers ("" = none)
	procs     []*exec.Cmd
}

// SentinelOptions tune StartSentinel.
type SentinelOptions struct {
	Password string // requirepass and masterauth of every server
	// DownAfter is how long the master must be silent before a sentinel
	// thinks it down [1s].
	DownAfter time.Duration
}

// StartSentinel starts the group and waits until both replicas are in sync
// and every sentinel knows both replicas and the other sentinels. Skipped
// like Start when Redis is not installed.
func StartSentinel(t testing.TB, o SentinelOptions) *Sentinel {
	t.Helper()
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		if requireRedis() {
			t.Fatalf("redis-server not found and HOTLINE_REQUIRE_REDIS is set: %v", err)
		}
		t.Skip("redis-server not installed")
	}
	if o.DownAfter == 0 {
		o.DownAfter = time.Second
	}
	g := &Sentinel{Password: o.Password}
	t.Cleanup(g.stop)
	auth := ""
	if o.Password != "" {
		auth = fmt.Sprintf("requirepass %q\nmasterauth %q\n", o.Password, o.Password)
	}
	var master string
	for i := range 3 {
		port := freePort(t)
		dir := t.TempDir()
		conf := fmt.Sprintf("port %d\nbind 127.0.0.1\ndir %s\nsave \"\"\nappendonly no\n%s", port, dir, auth)
		if i > 0 {
			conf += fmt.Sprintf("replicaof 127.0.0.1 %s\n", strings.TrimPrefix(master, "127.0.0.1:"))
		}
		// A config file (not flags): Sentinel rewrites a server's
		// replicaof with CONFIG REWRITE when it reconfigures it.
		file := filepath.Join(dir, "redis.conf")
		if err := os.WriteFile(file, []byte(conf), 0o600); err != nil {
			t.Fatal(err)
		}
		cmd := exec.Command(bin, file)
		if err := cmd.Start(); err != nil {
			t.Fatalf("start redis-server: %v", err)
		}
		s := &Server{Addr: fmt.Sprintf("127.0.0.1:%d", port), cmd: cmd, password: o.Password}
		g.Servers = append(g.Servers, s)
		if i == 0 {
			master = s.Addr
		}
		s.awaitPing(t)
	}
	// Both replicas in sync before any sentinel watches: a sentinel never
	// promotes a replica that has not talked to the master.
	ctx := context.Background()
	mc := g.Servers[0].Client(t)
	eventually(t, 20*time.Second, "replicas in sync", func() bool {
		info, err := mc.Info(ctx, "replication").Result()
		return err == nil && strings.Count(info, "state=online") == 2
	})
	sentinelAuth := ""
	if o.Password != "" {
		sentinelAuth = fmt.Sprintf("sentinel auth-pass %s %q\n", MasterName, o.Password)
	}
	for range 3 {
		port := freePort(t)
		dir := t.TempDir()
		conf := fmt.Sprintf("port %d\nbind 127.0.0.1\ndir %s\n"+
			"sentinel monitor %s 127.0.0.1 %s 2\n%s"+
			"sentinel down-after-milliseconds %s %d\n"+
			"sentinel failover-timeout %s 10000\n"+
			"sentinel parallel-syncs %s 2\n",
			port, dir, MasterName, strings.TrimPrefix(master, "127.0.0.1:"), sentinelAuth,
			MasterName, o.DownAfter.Milliseconds(), MasterName, MasterName)
		file := filepath.Join(dir, "sentinel.conf")
		if err := os.WriteFile(file, []byte(conf), 0o600); err != nil {
			t.Fatal(err)
		}
		cmd := exec.Command(bin, file, "--sentinel")
		if err := cmd.Start(); err != nil {
			t.Fatalf("start sentinel: %v", err)
		}
		g.procs = append(g.procs, cmd)
		g.Sentinels = append(g.Sentinels, fmt.Sprintf("127.0.0.1:%d", port))
	}
	for _, addr := range g.Sentinels {
		sc := redis.NewSentinelClient(&redis.Options{Addr: addr})
		eventually(t, 30*time.Second, "sentinel "+addr+" to know the group", func() bool {
			r, err1 := sc.Replicas(ctx, MasterName).Result()
			s, err2 := sc.Sentinels(ctx, MasterName).Result()
			return err1 == nil && err2 == nil && len(r) == 2 && len(s) == 2
		})
		_ = sc.Close()
	}
	return g
}

// Master asks the sentinels where the master is now.
func (g *Sentinel) Master(t testing.TB) string {
	t.Helper()
	for _, addr := range g.Sentinels {
		sc := redis.NewSentinelClient(&redis.Options{Addr: addr, DialTimeout: time.Second, ReadTimeout: time.Second})
		hp, err := sc.GetMasterAddrByName(context.Background(), MasterName).Result()
		_ = sc.Close()
		if err == nil && len(hp) == 2 {
			return hp[0] + ":" + hp[1]
		}
	}
	t.Fatalf("no sentinel names a master")
	return ""
}

// Server returns the server listening on addr.
func (g *Sentinel) Server(t testing.TB, addr string) *Server {
	t.Helper()
	for _, s := range g.Servers {
		if s.Addr == addr {
			return s
		}
	}
	t.Fatalf("no server on %s", addr)
	return nil
}

// KillMaster kills the current master the way a crash would (see
// Server.Kill) and waits until the sentinels have promoted a replica,
// returning the old and the new master's address.
func (g *Sentinel) KillMaster(t testing.TB, within time.Duration) (old, promoted string) {
	t.Helper()
	old = g.Master(t)
	g.Server(t, old).Kill(t)
	clients := map[string]*redis.Client{}
	defer func() {
		for _, c := range clients {
			_ = c.Close()
		}
	}()
	eventually(t, within, "a replica promoted after "+old+" died", func() bool {
		promoted = g.Master(t)
		if promoted == old {
			return false
		}
		c := clients[promoted]
		if c == nil {
			c = redis.NewClient(&redis.Options{Addr: g.Server(t, promoted).Addr, Password: g.Password})
			clients[promoted] = c
		}
		role, err := c.Do(context.Background(), "ROLE").Slice()
		return err == nil && len(role) > 0 && role[0] == "master"
	})
	return old, promoted
}

func (g *Sentinel) stop() {
	for _, c := range g.procs {
		if c.Process != nil {
			_ = c.Process.Kill()
			_ = c.Wait()
		}
	}
	for _, s := range g.Servers {
		s.Stop()
	}
}

func eventually(t testing.TB, within time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(within)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("redistest: %s: not within %s", what, within)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
