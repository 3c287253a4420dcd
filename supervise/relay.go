package supervise

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/rs/zerolog"

	"github.com/hotline95598/hotline/agents"
)

// A monitor can only be made by the replica that owns the call: the agent's
// leg, the call's bridge and the snoop channel are in that replica's
// Asterisk node, reachable through its ARI only. A supervisor may ask any
// replica (they all serve the same API), so a replica that does not own the
// call relays the request, through Redis, to the one that does and hands
// back its answer. Each replica reads its own request list; the answer comes
// back on a list of the request's own.

// ErrOwnerUnreachable: the replica that owns the call did not answer in time.
var ErrOwnerUnreachable = errors.New("the controller that owns the call did not answer")

// Owners names the replica that owns a call (recovery.Calls).
type Owners interface {
	Owner(ctx context.Context, callID string) (replica string, err error) // "" when none
}

// Relay carries monitor requests between replicas through Redis.
type Relay struct {
	rdb     redis.UniversalClient
	p       string
	replica string
	wait    time.Duration // how long a relayed request waits for its answer
	log     zerolog.Logger
}

// NewRelay returns the relay of replica; wait bounds a relayed request.
func NewRelay(rdb redis.UniversalClient, prefix, replica string, wait time.Duration, log zerolog.Logger) *Relay {
	if wait <= 0 {
		wait = 5 * time.Second
	}
	return &Relay{rdb: rdb, p: prefix, replica: replica, wait: wait, log: log}
}

func (r *Relay) requestsKey(replica string) string { return r.p + "monitor:requests:" + replica }
func (r *Relay) replyKey(id string) string         { return r.p + "monitor:reply:" + id }

type relayed struct {
	ID      string         `json:"id"`
	Req     MonitorRequest `json:"req"`
	Expires int64          `json:"expires"` // unix ms: not acted on after this
}

type relayReply struct {
	Info MonitorInfo `json:"info"`
	Code string      `json:"code,omitempty"` // the error's kind, see errCode
	Err  string      `json:"err,omitempty"`
}

// The errors that cross replicas keep their kind (the API's status).
var errCodes = map[string]error{
	"bad": ErrBadMonitor, "not_on_call": ErrNotOnCall, "offline": ErrSupervisorOffline,
	"unknown_agent": agents.ErrUnknownAgent, "unreachable": ErrOwnerUnreachable,
}

func errCode(err error) string {
	for code, e := range errCodes {
		if errors.Is(err, e) {
			return code
		}
	}
	return "failed"
}

// remoteError is an error of another replica, with its kind.
type remoteError struct {
	msg  string
	kind error
}

func (e remoteError) Error() string { return e.msg }
func (e remoteError) Unwrap() error { return e.kind }

// Forward sends req to replica and waits for its answer.
func (r *Relay) Forward(ctx context.Context, replica string, req MonitorRequest) (MonitorInfo, error) {
	var raw [8]byte
	_, _ = rand.Read(raw[:])
	id := hex.EncodeToString(raw[:])
	body, err := json.Marshal(relayed{ID: id, Req: req, Expires: time.Now().Add(r.wait).UnixMilli()})
	if err != nil {
		return MonitorInfo{}, err
	}
	key := r.requestsKey(replica)
	if _, err := r.rdb.TxPipelined(ctx, func(p redis.Pipeliner) error {
		p.RPush(ctx, key, body)
		p.PExpire(ctx, key, 2*r.wait) // a dead replica's list does not stay
		return nil
	}); err != nil {
		return MonitorInfo{}, fmt.Errorf("relay the monitor request to %s: %w", replica, err)
	}
	res, err := r.rdb.BLPop(ctx, r.wait, r.replyKey(id)).Result()
	switch {
	case errors.Is(err, redis.Nil):
		return MonitorInfo{}, fmt.Errorf("replica %s, within %s: %w", replica, r.wait, ErrOwnerUnreachable)
	case err != nil:
		return MonitorInfo{}, fmt.Errorf("await the answer of replica %s: %w", replica, err)
	}
	var rep relayReply
	if err := json.Unmarshal([]byte(res[1]), &rep); err != nil {
		return MonitorInfo{}, fmt.Errorf("answer of replica %s: %w", replica, err)
	}
	if rep.Code != "" {
		kind := errCodes[rep.Code]
		if kind == nil {
			return MonitorInfo{}, fmt.Errorf("replica %s: %s", replica, rep.Err)
		}
		return MonitorInfo{}, remoteError{msg: rep.Err, kind: kind}
	}
	return rep.Info, nil
}

// Serve answers the requests relayed to this replica with start until ctx
// ends; each request is served in its own goroutine.
func (r *Relay) Serve(ctx context.Context, start func(context.Context, MonitorRequest) (MonitorInfo, error)) {
	key := r.requestsKey(r.replica)
	for ctx.Err() == nil {
		res, err := r.rdb.BLPop(ctx, time.Second, key).Result()
		if errors.Is(err, redis.Nil) {
			continue
		}
		if err != nil {
			if ctx.Err() == nil {
				r.log.Warn().Err(err).Msg("read relayed monitor requests")
				select { // Redis down or failing over: do not spin
				case <-ctx.Done():
				case <-time.After(time.Second):
				}
			}
			continue
		}
		var q relayed
		if err := json.Unmarshal([]byte(res[1]), &q); err != nil {
			r.log.Warn().Err(err).Msg("relayed monitor request not readable, dropped")
			continue
		}
		until := time.UnixMilli(q.Expires)
		if time.Now().After(until) {
			r.log.Info().Str("agent", q.Req.Agent).Msg("relayed monitor request expired before it was read, dropped")
			continue
		}
		go r.answer(ctx, q, until, start)
	}
}

func (r *Relay) answer(ctx context.Context, q relayed, until time.Time, start func(context.Context, MonitorRequest) (MonitorInfo, error)) {
	sctx, cancel := context.WithDeadline(ctx, until)
	info, err := start(sctx, q.Req)
	cancel()
	rep := relayReply{Info: info}
	if err != nil {
		rep = relayReply{Code: errCode(err), Err: err.Error()}
	}
	body, _ := json.Marshal(rep)
	key := r.replyKey(q.ID)
	bg := context.WithoutCancel(ctx)
	if _, err := r.rdb.TxPipelined(bg, func(p redis.Pipeliner) error {
		p.RPush(bg, key, body)
		p.PExpire(bg, key, 2*r.wait)
		return nil
	}); err != nil {
		r.log.Warn().Err(err).Str("agent", q.Req.Agent).Msg("answer a relayed monitor request")
	}
}
