// Package durable makes a Redis write wait until replicas hold it.
//
// Redis replicates asynchronously: a master that acknowledges a write and
// dies a moment later takes the write with it, and Sentinel promotes a
// replica that never saw it. For the writes a caller is told about (a
// ticket number read out, a callback promised) the stores ask Redis to WAIT
// until enough replicas have the write before they answer. WAIT counts the
// writes of the connection it is sent on, so it must follow the write on
// the same connection: a WATCH/MULTI transaction (redis.Tx) or a sticky
// connection (redis.Conn), never the pool.
package durable

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"
)

// ErrNotReplicated: the write is on the master but fewer replicas than the
// policy asks for confirmed it within the timeout. The caller must not be
// told the write is safe (see the README's "Redis Sentinel" section).
var ErrNotReplicated = errors.New("write not confirmed by enough Redis replicas")

// Policy says how many replicas must hold a write before it counts as done.
// The zero Policy waits for nothing (a single Redis without replicas).
type Policy struct {
	Replicas int           // HOTLINE_REDIS_MIN_REPLICAS
	Timeout  time.Duration // HOTLINE_REDIS_REPLICA_TIMEOUT
	// OnShort, when set, is called each time a write is not confirmed in
	// time (for a metric); it must not block.
	OnShort func()
}

// Active reports whether the policy waits at all.
func (p Policy) Active() bool { return p.Replicas > 0 }

// Wait sends WAIT on c, which must be the connection that made the write
// (a *redis.Tx inside Watch, or a *redis.Conn). It returns an error wrapping
// ErrNotReplicated when too few replicas confirmed within the timeout.
func (p Policy) Wait(ctx context.Context, c Waiter) error {
	if !p.Active() {
		return nil
	}
	n, err := c.Wait(ctx, p.Replicas, p.Timeout).Result()
	if err != nil {
		return fmt.Errorf("wait for %d replicas: %w", p.Replicas, err)
	}
	if int(n) < p.Replicas {
		if p.OnShort != nil {
			p.OnShort()
		}
		return fmt.Errorf("%w: %d of %d within %s", ErrNotReplicated, n, p.Replicas, p.Timeout)
	}
	return nil
}

// Waiter is a connection that can send WAIT: *redis.Tx, *redis.Conn.
type Waiter interface {
	Wait(ctx context.Context, numReplicas int, timeout time.Duration) *redis.IntCmd
}

// stickyClient is a client that can hand out one connection for a sequence
// of commands; *redis.Client (plain and Sentinel failover) is one.
type stickyClient interface {
	Conn() *redis.Conn
}

// Run runs script like script.Run (EVALSHA, then EVAL when Redis does not
// have it, e.g. after a failover) and, when the policy is active, WAITs on
// the same connection. The returned command carries the script's reply, or
// the WAIT's error when the write was not confirmed.
func (p Policy) Run(ctx context.Context, rdb redis.UniversalClient, script *redis.Script, keys []string, args ...any) *redis.Cmd {
	if !p.Active() {
		return script.Run(ctx, rdb, keys, args...)
	}
	sc, ok := rdb.(stickyClient)
	if !ok {
		cmd := redis.NewCmd(ctx)
		cmd.SetErr(fmt.Errorf("durable: %T cannot WAIT on the connection of a write (needs a *redis.Client)", rdb))
		return cmd
	}
	conn := sc.Conn()
	defer conn.Close()
	cmd := script.Run(ctx, conn, keys, args...)
	if cmd.Err() != nil && !errors.Is(cmd.Err(), redis.Nil) {
		return cmd
	}
	if err := p.Wait(ctx, conn); err != nil {
		cmd.SetErr(err)
	}
	return cmd
}
