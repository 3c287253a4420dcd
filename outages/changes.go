package outages

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
)

// casScript replaces an outage record if it still holds what was read,
// and applies the index changes of a clear.
//
// KEYS[1] outage, KEYS[2] active zset, KEYS[3] transformer's active key,
// KEYS[4] area's active zset.
// ARGV[1] old JSON, ARGV[2] new JSON, ARGV[3] id, ARGV[4] "1" to clear.
// Returns 1 written, 0 the record changed meanwhile.
var casScript = redis.NewScript(`
if redis.call('GET', KEYS[1]) ~= ARGV[1] then
  return 0
end
redis.call('SET', KEYS[1], ARGV[2])
if ARGV[4] == '1' then
  redis.call('ZREM', KEYS[2], ARGV[3])
  if redis.call('GET', KEYS[3]) == ARGV[3] then
    redis.call('DEL', KEYS[3])
  end
  redis.call('ZREM', KEYS[4], ARGV[3])
end
return 1
`)

// casAttempts bounds optimistic retries. Each retry means another writer
// changed the same outage between our read and write.
const casAttempts = 10

// errUnchanged tells modify that fn wants nothing written.
var errUnchanged = errors.New("unchanged")

// modify applies fn to the stored outage and writes it back with
// compare-and-set, retrying when another replica wrote in between. When
// clear is set the outage also leaves the active indexes in the same
// script. fn returning errUnchanged ends it without writing. Area and
// Transformer never change after Declare, so the index keys can be taken
// from the record as read.
func (s *Store) modify(ctx context.Context, op, id string, clear bool, fn func(o *Outage, now time.Time) error) (Outage, error) {
	id = strings.TrimSpace(id)
	if !ValidID(id) {
		return Outage{}, fmt.Errorf("outage %q: %w", id, ErrNotFound)
	}
	key := s.outageKey(id)
	for range casAttempts {
		old, err := s.rdb.Get(ctx, key).Result()
		if errors.Is(err, redis.Nil) {
			return Outage{}, fmt.Errorf("outage %s: %w", id, ErrNotFound)
		}
		if err != nil {
			return Outage{}, fmt.Errorf("outages: %s %s: %w", op, id, err)
		}
		o, err := s.decode(id, old)
		if err != nil {
			return Outage{}, err
		}
		if err := fn(&o, s.now()); errors.Is(err, errUnchanged) {
			return o, nil
		} else if err != nil {
			return Outage{}, err
		}
		js, err := json.Marshal(o)
		if err != nil {
			return Outage{}, fmt.Errorf("outages: encode %s: %w", id, err)
		}
		keys := []string{key, s.activeKey(), s.activeTrKey(o.Transformer), s.activeAreaKey(o.Area)}
		ok, err := casScript.Run(ctx, s.rdb, keys, old, string(js), id, flag(clear)).Int()
		if err != nil {
			return Outage{}, fmt.Errorf("outages: %s %s: %w", op, id, err)
		}
		if ok == 1 {
			return o, nil
		}
	}
	return Outage{}, fmt.Errorf("outages: %s %s: too much contention: %w", op, id, ErrConflict)
}

// Update sets an active outage's expected restore time (zero means
// unknown; otherwise it must lie after now and after StartedAt) and, when
// reason is not blank, its reason; a blank reason keeps the current one.
// Updating a cleared outage fails with ErrConflict.
func (s *Store) Update(ctx context.Context, id string, expectedRestore time.Time, reason string) (Outage, error) {
	reason = strings.TrimSpace(reason)
	return s.modify(ctx, "update", id, false, func(o *Outage, now time.Time) error {
		if !o.Active() {
			return fmt.Errorf("%w: outage %s already cleared", ErrConflict, o.ID)
		}
		if err := checkRestore(expectedRestore, o.StartedAt, now); err != nil {
			return err
		}
		if !o.ExpectedRestore.Equal(expectedRestore) {
			o.RestoreUpdates++
		}
		o.ExpectedRestore = expectedRestore
		if reason != "" {
			o.Reason = reason
		}
		return nil
	})
}

// Clear marks an outage as over (ClearedAt now, ClearedBy by) and removes
// it from the active indexes in one atomic step; it stays in History.
//
// Clearing is idempotent: clearing an already cleared outage changes
// nothing and returns it as first cleared, with a nil error, so that two
// operators or a retried request do not see a failure for what they
// wanted. An unknown ID is ErrNotFound.
func (s *Store) Clear(ctx context.Context, id, by string) (Outage, error) {
	by = strings.TrimSpace(by)
	if by == "" {
		return Outage{}, fmt.Errorf("%w: cleared_by required", ErrInvalid)
	}
	return s.modify(ctx, "clear", id, true, func(o *Outage, now time.Time) error {
		if !o.Active() {
			return errUnchanged
		}
		o.ClearedAt, o.ClearedBy = now, by
		return nil
	})
}

// parentScript sets an outage's parent work order unless one is set.
//
// KEYS[1] outage. ARGV[1] ticket id.
// Returns {1, parent} (the one now set, ours or an earlier one),
// {0, ""} no such outage, {-1, ""} cleared without a parent.
var parentScript = redis.NewScript(`
local js = redis.call('GET', KEYS[1])
if not js then
  return {0, ''}
end
local o = cjson.decode(js)
if type(o.parent_ticket) == 'string' and o.parent_ticket ~= '' then
  return {1, o.parent_ticket}
end
if type(o.cleared_at) == 'string' and o.cleared_at ~= '' then
  return {-1, ''}
end
o.parent_ticket = ARGV[1]
redis.call('SET', KEYS[1], cjson.encode(o))
return {1, ARGV[1]}
`)

// SetParentTicket makes ticketID the outage's parent work order if it has
// none yet, and returns the parent that is set. Of several replicas racing
// to create the parent exactly one wins; the others get the winner's ID
// and must attach their ticket to it as a child (and close or merge their
// own). A cleared outage without a parent gets none: ErrConflict.
func (s *Store) SetParentTicket(ctx context.Context, id, ticketID string) (string, error) {
	id, ticketID = strings.TrimSpace(id), strings.TrimSpace(ticketID)
	if ticketID == "" {
		return "", fmt.Errorf("%w: ticket id required", ErrInvalid)
	}
	if !ValidID(id) {
		return "", fmt.Errorf("outage %q: %w", id, ErrNotFound)
	}
	res, err := parentScript.Run(ctx, s.rdb, []string{s.outageKey(id)}, ticketID).Slice()
	if err != nil {
		return "", fmt.Errorf("outages: set parent %s: %w", id, err)
	}
	code, parent, err := scriptReply(res)
	if err != nil {
		return "", fmt.Errorf("outages: set parent %s: %w", id, err)
	}
	switch code {
	case 1:
		return parent, nil
	case 0:
		return "", fmt.Errorf("outage %s: %w", id, ErrNotFound)
	default:
		return "", fmt.Errorf("%w: outage %s already cleared", ErrConflict, id)
	}
}

// Confirm records that a supervisor confirmed an outage the hotline
// declared by itself. Confirming a confirmed outage changes nothing; a
// cleared one is ErrConflict.
func (s *Store) Confirm(ctx context.Context, id, by string) (Outage, error) {
	by = strings.TrimSpace(by)
	if by == "" {
		return Outage{}, fmt.Errorf("%w: confirmed_by required", ErrInvalid)
	}
	return s.modify(ctx, "confirm", id, false, func(o *Outage, now time.Time) error {
		switch {
		case !o.Active():
			return fmt.Errorf("%w: outage %s already cleared", ErrConflict, o.ID)
		case !o.Unconfirmed:
			return errUnchanged
		}
		o.Unconfirmed, o.ConfirmedBy, o.ConfirmedAt = false, by, now
		return nil
	})
}
