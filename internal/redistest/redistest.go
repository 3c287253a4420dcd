// Package redistest starts a real, throw-away redis-server for tests.
package redistest

import (
	"context"
	"fmt"
	"net"
	"os/exec"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// Server is a running redis-server owned by one test.
type Server struct {
	Addr     string
	cmd      *exec.Cmd
	password string
}

// Start runs redis-server on a free loopback port in a temporary directory
// and stops it when the test ends. The test is skipped when redis-server is
// not installed and HOTLINE_REQUIRE_REDIS is unset; `make test` installs it
// and sets that variable, so CI never skips.
func Start(t testing.TB) *Server {
	t.Helper()
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		if requireRedis() {
			t.Fatalf("redis-server not found and HOTLINE_REQUIRE_REDIS is set: %v", err)
		}
		t.Skip("redis-server not installed")
	}
	port := freePort(t)
	dir := t.TempDir()
	cmd := exec.Command(bin, "--port", fmt.Sprint(port), "--bind", "127.0.0.1",
		"--dir", dir, "--save", "", "--appendonly", "no", "--daemonize", "no")
	if err := cmd.Start(); err != nil {
		t.Fatalf("start redis-server: %v", err)
	}
	s := &Server{Addr: fmt.Sprintf("127.0.0.1:%d", port), cmd: cmd}
	t.Cleanup(s.Stop)
	s.awaitPing(t)
	return s
}

func (s *Server) awaitPing(t testing.TB) {
	t.Helper()
	c := redis.NewClient(&redis.Options{Addr: s.Addr, Password: s.password})
	defer c.Close()
	deadline := time.Now().Add(10 * time.Second)
	for {
		if err := c.Ping(context.Background()).Err(); err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("redis-server on %s did not answer", s.Addr)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// Client returns a client for the server, closed when the test ends. It
// does not retry a failed command: against a throw-away local server a
// retry only hides a fault, and after Kill every command would otherwise
// sleep through go-redis's back-off (three retries, up to 512 ms each)
// before the test sees the error it is about.
func (s *Server) Client(t testing.TB) *redis.Client {
	c := redis.NewClient(&redis.Options{Addr: s.Addr, Password: s.password, MaxRetries: -1})
	t.Cleanup(func() { _ = c.Close() })
	return c
}

// Stop kills the server; calling it twice is harmless.
func (s *Server) Stop() {
	if s.cmd != nil && s.cmd.Process != nil {
		_ = s.cmd.Process.Kill()
		_ = s.cmd.Wait()
		s.cmd = nil
	}
}

func freePort(t testing.TB) int {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("free port: %v", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// Kill stops the server the way a crash would and keeps its port occupied
// by a listener that hangs up on every connection until the test ends.
// Without that, the freed port could be handed to a redis-server started by
// a test running in parallel, and a "dead Redis" test would quietly talk to
// that one.
func (s *Server) Kill(t testing.TB) {
	t.Helper()
	s.Stop()
	l, err := net.Listen("tcp", s.Addr)
	if err != nil {
		t.Fatalf("hold port %s of the killed redis: %v", s.Addr, err)
	}
	t.Cleanup(func() { _ = l.Close() })
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			_ = c.Close()
		}
	}()
}
