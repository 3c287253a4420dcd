package recordings

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/rs/zerolog"

	"github.com/hotline95598/hotline/ivr"
)

// Active is a recording in progress, from Begin to End.
type Active struct {
	s    *Store
	sw   ivr.Recorder
	Info Recording
}

// Begin starts recording a call's bridge when the policy records agent
// calls, and indexes it; it returns nil (and no error) when the policy
// records none. info names the call, agent, caller, queue, work order and
// node; its ID and Start are set here (attempt: see Name).
func (s *Store) Begin(ctx context.Context, sw ivr.Recorder, bridgeID string, info Recording, attempt int) (*Active, error) {
	if !s.pol.AgentCalls {
		return nil, nil
	}
	info.Start = s.now()
	info.ID = Name(info.CallID, info.Start, attempt)
	if err := sw.RecordBridge(ctx, bridgeID, info.ID); err != nil {
		return nil, fmt.Errorf("recordings: start %s: %w", info.ID, err)
	}
	if err := s.Add(ctx, info); err != nil {
		// Recorded but not indexed: stop, or the file would be nobody's.
		_ = sw.StopRecording(context.WithoutCancel(ctx), info.ID)
		return nil, err
	}
	info.File = fileOf(info.ID)
	return &Active{s: s, sw: sw, Info: info}, nil
}

// End stops the recording (if the bridge has not ended it already) and
// records its duration. Calling it on a nil Active is harmless.
func (a *Active) End(ctx context.Context) error {
	if a == nil {
		return nil
	}
	ctx = context.WithoutCancel(ctx)
	errStop := a.sw.StopRecording(ctx, a.Info.ID)
	return errors.Join(errStop, a.s.Finish(ctx, a.Info.ID, a.s.now()))
}

var leaseLua = redis.NewScript(`
local v = redis.call('GET', KEYS[1])
if not v then redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2]); return 1 end
if v == ARGV[1] then redis.call('PEXPIRE', KEYS[1], ARGV[2]); return 1 end
return 0
`)

// sweepBatch is how many recordings one pass deletes at most.
const sweepBatch = 200

// Sweep deletes the recordings older than the retention, file and index,
// if this replica holds the sweep's lease (one replica sweeps at a time).
// A file already gone (an operator archived it) is not an error. It
// returns how many recordings it deleted.
func (s *Store) Sweep(ctx context.Context, replica string, lease time.Duration) (int, error) {
	ok, err := leaseLua.Run(ctx, s.rdb, []string{s.leaseKey()}, replica, lease.Milliseconds()).Int()
	if err != nil {
		return 0, fmt.Errorf("recordings: sweep lease: %w", err)
	}
	if ok != 1 {
		return 0, nil
	}
	cutoff := s.now().Add(-s.pol.Retention)
	ids, err := s.rdb.ZRangeByScore(ctx, s.allKey(), &redis.ZRangeBy{Min: "-inf", Max: "(" + ms(cutoff), Count: sweepBatch}).Result()
	if err != nil {
		return 0, fmt.Errorf("recordings: sweep: %w", err)
	}
	if len(ids) == 0 {
		return 0, nil
	}
	root, err := os.OpenRoot(s.dir)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return 0, fmt.Errorf("recordings directory %s: %w", s.dir, err)
	}
	if root != nil {
		defer root.Close()
	}
	n := 0
	for _, id := range ids {
		h, err := s.rdb.HGetAll(ctx, s.key(id)).Result()
		if err != nil {
			return n, fmt.Errorf("recordings: sweep %s: %w", id, err)
		}
		if root != nil {
			// The file first: an index entry without a file is harmless,
			// a file without an index entry is never swept.
			if err := root.Remove(fileOf(id)); err != nil && !errors.Is(err, fs.ErrNotExist) {
				return n, fmt.Errorf("recordings: delete %s: %w", fileOf(id), err)
			}
		}
		r := decode(id, h)
		r.CallID = h["call"]
		_, err = s.rdb.TxPipelined(ctx, func(p redis.Pipeliner) error {
			p.Del(ctx, s.key(id))
			for _, k := range s.indexes(r) {
				p.ZRem(ctx, k, id)
			}
			return nil
		})
		if err != nil {
			return n, fmt.Errorf("recordings: sweep %s: %w", id, err)
		}
		n++
	}
	return n, nil
}

// RunSweep sweeps every `every` until ctx ends.
func (s *Store) RunSweep(ctx context.Context, replica string, every time.Duration, log zerolog.Logger) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		for {
			n, err := s.Sweep(ctx, replica, 2*every)
			if err != nil && ctx.Err() == nil {
				log.Warn().Err(err).Msg("recordings sweep")
			}
			if n > 0 {
				log.Info().Int("deleted", n).Msg("recordings older than the retention deleted")
			}
			if n < sweepBatch {
				break
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
