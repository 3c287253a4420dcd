package recovery

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/hotline95598/hotline/internal/legs"
	"github.com/hotline95598/hotline/ivr"
	"github.com/redis/go-redis/v9"
	"github.com/rs/zerolog"
)

// Calls knows which calls this replica owns. Ownership is also written to
// Redis (owner replica, phone, ticket) so that after a restart, or when a
// replica dies, the calls it left in Asterisk can be found and followed up.
// It is the call flow's Tracker.
type Calls struct {
	mu      sync.Mutex
	active  map[string]context.CancelCauseFunc
	ended   map[string]time.Time // calls of ours that ended lately: see wasLocal
	gaveUp  map[string]time.Time // calls ended by cancelAll: see givenUp
	rdb     redis.UniversalClient
	p       string
	replica string
	log     zerolog.Logger
}

// callTTL: ownership records outlive a replica only briefly.
const callTTL = time.Minute

func newCalls(rdb redis.UniversalClient, prefix, replica string, log zerolog.Logger) *Calls {
	return &Calls{active: map[string]context.CancelCauseFunc{}, ended: map[string]time.Time{}, gaveUp: map[string]time.Time{}, rdb: rdb, p: prefix, replica: replica, log: log}
}

func (c *Calls) key(id string) string { return c.p + "call:" + id }

// ownedKey indexes the calls a replica owns. Each replica has its own ARI
// application, and Asterisk lists a channel only under the application it
// is in, so a live replica finds a dead one's calls through this set, not
// through ARI.
func (c *Calls) ownedKey(replica string) string { return c.p + "replica:" + replica + ":calls" }

// replicasKey lists the replicas that ever owned calls, for the sweep.
func (c *Calls) replicasKey() string { return c.p + "replicas" }

// aliveKey exists while a replica renews it: its liveness.
func (c *Calls) aliveKey(replica string) string { return c.p + "replica:" + replica }

// forget deletes what Redis knows of a call that was followed up.
func (c *Calls) forget(ctx context.Context, id, owner string) {
	_ = c.rdb.Del(ctx, c.key(id)).Err()
	if owner != "" {
		_ = c.rdb.SRem(ctx, c.ownedKey(owner), id).Err()
	}
}

// Start registers a call this replica now owns; done must be called when
// the call's goroutine ends. The context ends, with ivr.ErrCutOff as its
// cause, when the call's channel vanished while the link to Asterisk was
// down.
func (c *Calls) Start(ctx context.Context, id, phone string) (context.Context, func()) {
	ctx, cancel := context.WithCancelCause(ctx)
	c.mu.Lock()
	c.active[id] = cancel
	c.mu.Unlock()
	_, err := c.rdb.TxPipelined(ctx, func(p redis.Pipeliner) error {
		p.HSet(ctx, c.key(id), "owner", c.replica, "phone", phone, "started", time.Now().UnixMilli())
		p.Expire(ctx, c.key(id), callTTL)
		p.SAdd(ctx, c.ownedKey(c.replica), id)
		p.SAdd(ctx, c.replicasKey(), c.replica)
		return nil
	})
	if err != nil {
		c.log.Warn().Err(err).Str("call_id", id).Msg("record call owner")
	}
	return ctx, func() {
		cancel(nil)
		c.mu.Lock()
		delete(c.active, id)
		c.ended[id] = time.Now()
		c.mu.Unlock()
		bg := context.WithoutCancel(ctx)
		if _, err := c.rdb.Pipelined(bg, func(p redis.Pipeliner) error {
			p.Del(bg, c.key(id))
			p.SRem(bg, c.ownedKey(c.replica), id)
			return nil
		}); err != nil {
			c.log.Warn().Err(err).Str("call_id", id).Msg("forget call")
		}
	}
}

// Attach records the ticket a call produced (callflow.Tracker).
func (c *Calls) Attach(ctx context.Context, callID, ticketID string) {
	if err := c.rdb.HSet(context.WithoutCancel(ctx), c.key(callID), "ticket", ticketID).Err(); err != nil {
		c.log.Warn().Err(err).Str("call_id", callID).Msg("attach ticket to call")
	}
}

// endedGrace: a channel listed by Asterisk just before its call ended here
// (hang-up still under way) must not be taken for an orphan.
const endedGrace = 30 * time.Second

// wasLocal reports whether the channel belongs to a call this replica owns
// or owned until moments ago. The sweep lists channels first and checks
// ownership after; a call that ends in between would otherwise look like an
// orphan and its caller be promised a "cut off" callback after being served.
func (c *Calls) wasLocal(channelID string) bool {
	id := legs.Owner(channelID)
	c.mu.Lock()
	defer c.mu.Unlock()
	now := time.Now()
	for e, at := range c.ended {
		if now.Sub(at) > endedGrace {
			delete(c.ended, e)
		}
	}
	if _, ok := c.active[id]; ok {
		return true
	}
	_, ok := c.ended[id]
	return ok
}

// cancelMissing ends local calls whose channel is no longer in Asterisk:
// their hang-up happened while the event stream was down.
func (c *Calls) cancelMissing(present map[string]bool) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := 0
	for id, cancel := range c.active {
		if !present[id] {
			cancel(ivr.ErrCutOff) // the caller did not hang up: Asterisk lost the call
			n++
		}
	}
	return n
}

// cancelAll ends every local call as cut off (Asterisk is unreachable and
// taken for dead) and remembers them, so that their channels, should
// Asterisk have survived, are hung up without a second promise.
func (c *Calls) cancelAll(now time.Time) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	for id, cancel := range c.active {
		cancel(ivr.ErrCutOff)
		c.gaveUp[id] = now
	}
	return len(c.active)
}

// givenUpFor: how long a given-up call's channel is recognised.
const givenUpFor = 10 * time.Minute

// givenUp reports whether the channel belongs to a call cancelAll ended.
func (c *Calls) givenUp(channelID string) bool {
	id := legs.Owner(channelID)
	c.mu.Lock()
	defer c.mu.Unlock()
	for g, at := range c.gaveUp {
		if time.Since(at) > givenUpFor {
			delete(c.gaveUp, g)
		}
	}
	_, ok := c.gaveUp[id]
	return ok
}

// refresh extends the ownership records of every local call.
func (c *Calls) refresh(ctx context.Context) error {
	c.mu.Lock()
	ids := make([]string, 0, len(c.active))
	for id := range c.active {
		ids = append(ids, id)
	}
	c.mu.Unlock()
	_, err := c.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		for _, id := range ids {
			p.Expire(ctx, c.key(id), callTTL)
		}
		p.Set(ctx, c.aliveKey(c.replica), time.Now().UnixMilli(), 3*RefreshEvery)
		return nil
	})
	return err
}

// record is what Redis knows of a call.
type record struct {
	Owner, Phone, Ticket string
}

func (c *Calls) lookup(ctx context.Context, id string) (record, bool, error) {
	h, err := c.rdb.HGetAll(ctx, c.key(id)).Result()
	if err != nil || len(h) == 0 {
		return record{}, false, err
	}
	return record{Owner: h["owner"], Phone: h["phone"], Ticket: h["ticket"]}, true, nil
}

func (c *Calls) replicaAlive(ctx context.Context, replica string) (bool, error) {
	n, err := c.rdb.Exists(ctx, c.aliveKey(replica)).Result()
	return n == 1, err
}

// deadCall is a call a dead replica owned.
type deadCall struct {
	ID    string
	Rec   record
	Found bool // false: its record expired; only the channel id is known
}

// claimDead returns the calls of replicas that stopped renewing their
// liveness key. Each call is taken out of its owner's index here, so with
// several live replicas only one follows it up.
func (c *Calls) claimDead(ctx context.Context) ([]deadCall, error) {
	replicas, err := c.rdb.SMembers(ctx, c.replicasKey()).Result()
	if err != nil {
		return nil, err
	}
	var out []deadCall
	for _, r := range replicas {
		if r == c.replica {
			continue // our own calls from before a restart are in our app: reconcile sees them
		}
		alive, err := c.replicaAlive(ctx, r)
		if err != nil {
			return out, err
		}
		if alive {
			continue
		}
		ids, err := c.rdb.SMembers(ctx, c.ownedKey(r)).Result()
		if err != nil {
			return out, err
		}
		if len(ids) == 0 {
			// Nothing left to follow up; a replica that comes back adds itself again.
			c.rdb.SRem(ctx, c.replicasKey(), r)
			continue
		}
		for _, id := range ids {
			if n, err := c.rdb.SRem(ctx, c.ownedKey(r), id).Result(); err != nil || n == 0 {
				continue // another replica took it
			}
			rec, found, err := c.lookup(ctx, id)
			if err != nil {
				return out, err
			}
			if found && rec.Owner != r {
				continue // taken over meanwhile (its record names another owner)
			}
			out = append(out, deadCall{ID: id, Rec: rec, Found: found})
		}
	}
	return out, nil
}

// Owner names the replica that owns a call ("" when none does): requests
// about a call (a supervisor's monitor) are served by its owner.
func (c *Calls) Owner(ctx context.Context, id string) (string, error) {
	owner, err := c.rdb.HGet(ctx, c.key(id), "owner").Result()
	if errors.Is(err, redis.Nil) {
		return "", nil
	}
	return owner, err
}
