// Package outages keeps the declared power outages (停电), planned or fault,
// that the hotline tells callers about before they report them again, and
// the parent work order that fault reports on one transformer are merged
// under (95598 practice: repeated calls are the main cost).
//
// All state lives in Redis so that every controller replica sees the same
// outages. Key layout, with prefix P (default "hotline:"):
//
//	P outage:<id>                          string  JSON of Outage
//	P outages:seq:<YYYYMMDD>               string  daily ID counter (INCR), expires after 3 days
//	P outages:active                       zset    active ids, score = StartedAt unix ms
//	P outages:active:area:<area>           zset    active ids declared with that area, same score
//	P outages:active:transformer:<name>    string  id of the one active outage on that transformer
//	P outages:by_area:<area>               zset    every id ever declared with that area (history), same score
//	P outages:all                          zset    every id declared, same score (Since: early warning)
//
// Every change that touches more than one key (Declare, Clear) is one Lua
// script, so a reader never sees an outage half indexed; single-key changes
// are compare-and-set scripts (Update) or Lua read-modify-write
// (SetParentTicket). With Redis Cluster, give the prefix a hash tag (e.g.
// "{hotline}:") so that all keys live in one slot.
//
// Scope. An outage with a Transformer covers exactly that transformer's
// customers; its Area, when also given, only says where the transformer is
// (for History and Frequency), so give both when known. An outage with an
// Area and no Transformer covers the whole area. Declare records an outage
// that has begun: announcing future planned outages is not its job.
//
// Records are small and few (dozens a day), so cleared outages and the
// history index are kept; retention is left to operations.
package outages

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/hotline95598/hotline/internal/ids"
	"github.com/redis/go-redis/v9"
)

// DefaultPrefix is the key prefix used when New is given an empty one.
const DefaultPrefix = "hotline:"

var (
	// ErrNotFound: no outage with that ID.
	ErrNotFound = errors.New("outages: not found")
	// ErrInvalid: the outage or request failed validation.
	ErrInvalid = errors.New("outages: invalid")
	// ErrConflict: the transformer already has an active outage (see
	// ConflictError), the outage is already cleared, or an update kept
	// losing races with other writers.
	ErrConflict = errors.New("outages: conflict")
)

// ConflictError is returned by Declare when the transformer already has an
// active outage; errors.Is(err, ErrConflict) holds. Operators should Update
// the existing outage instead of declaring a second one.
type ConflictError struct {
	Transformer string
	Existing    string // ID of the active outage on Transformer
}

func (e *ConflictError) Error() string {
	return fmt.Sprintf("outages: conflict: transformer %s already has active outage %s", e.Transformer, e.Existing)
}

// Unwrap makes errors.Is(err, ErrConflict) true.
func (e *ConflictError) Unwrap() error { return ErrConflict }

// Kind says why the power is off.
type Kind string

const (
	KindPlanned Kind = "planned" // 计划停电
	KindFault   Kind = "fault"   // 故障停电
)

// Known reports whether k is one of the Kind constants.
func (k Kind) Known() bool { return k == KindPlanned || k == KindFault }

// Outage is one declared outage.
type Outage struct {
	ID          string `json:"id"` // "O" + YYYYMMDD (China time) + 3-digit daily sequence
	Kind        Kind   `json:"kind"`
	Area        string `json:"area"`        // at least one of Area and Transformer
	Transformer string `json:"transformer"` // see the package comment for what each covers
	// Line is the feeder (e.g. "10kV 北环线") when known: it only says
	// where the outage was, for the early warning on lines with repeated
	// outages; it covers no customer by itself.
	Line      string    `json:"line,omitempty"`
	Reason    string    `json:"reason"`
	StartedAt time.Time `json:"started_at"`
	// ExpectedRestore is when power is expected back; zero means unknown.
	ExpectedRestore time.Time `json:"expected_restore,omitzero"`
	DeclaredBy      string    `json:"declared_by"`
	// ParentTicket is the work order that fault reports for this outage
	// attach to as children; "" until SetParentTicket.
	ParentTicket string    `json:"parent_ticket"`
	ClearedAt    time.Time `json:"cleared_at,omitzero"` // zero while active
	ClearedBy    string    `json:"cleared_by"`
	// Unconfirmed: declared by the hotline itself because fault reports
	// from one transformer piled up; a supervisor confirms it (Confirm) or
	// clears it. ConfirmedBy and ConfirmedAt say who confirmed it.
	Unconfirmed bool      `json:"unconfirmed,omitempty"`
	ConfirmedBy string    `json:"confirmed_by,omitempty"`
	ConfirmedAt time.Time `json:"confirmed_at,omitzero"`
	// RestoreUpdates counts how often the expected restore time was changed.
	RestoreUpdates int `json:"restore_updates,omitempty"`

	// OverrunGrace is how long after ExpectedRestore Overrun starts
	// reporting true. The Store sets it from the policy (outages.
	// overrun_grace) on every outage it returns; it is not stored.
	OverrunGrace time.Duration `json:"-"`
}

// Active reports whether the outage has not been cleared.
func (o Outage) Active() bool { return o.ClearedAt.IsZero() }

// Late reports whether the outage is still active although its expected
// restore time has passed: callers hear that restoration is taking longer
// than expected, never the past time (see Speech).
func (o Outage) Late(now time.Time) bool {
	return o.Active() && !o.ExpectedRestore.IsZero() && now.After(o.ExpectedRestore)
}

// Overrun reports whether the outage is still active although its expected
// restore time lies more than OverrunGrace before now, with no new time
// given: most likely nobody updated or cleared it, which the operators are
// alerted to. Such outages are still returned by Active and ForCustomer
// (clearing is an operator's action). An outage with an unknown restore
// time never overruns.
func (o Outage) Overrun(now time.Time) bool {
	return o.Late(now) && now.After(o.ExpectedRestore.Add(o.OverrunGrace))
}

// startSkew is how far in the future StartedAt may lie: replicas' clocks
// and the operator's console differ a little.
const startSkew = 5 * time.Minute

// Store reads and writes outages in Redis. It is safe for concurrent use.
type Store struct {
	rdb    redis.UniversalClient
	prefix string
	now    func() time.Time
	grace  time.Duration
}

// New returns a Store using keys under prefix (DefaultPrefix when empty),
// now for timestamps (time.Now when nil) and no overrun grace; the policy's
// grace comes with WithOverrunGrace.
func New(rdb redis.UniversalClient, prefix string, now func() time.Time) *Store {
	if prefix == "" {
		prefix = DefaultPrefix
	}
	if now == nil {
		now = time.Now
	}
	return &Store{rdb: rdb, prefix: prefix, now: now}
}

// WithOverrunGrace returns a copy of s that stamps grace (the policy
// value) as OverrunGrace on the outages it returns. Negative means zero.
func (s *Store) WithOverrunGrace(grace time.Duration) *Store {
	c := *s
	c.grace = max(grace, 0)
	return &c
}

func (s *Store) outageKey(id string) string     { return s.prefix + "outage:" + id }
func (s *Store) seqKey(day string) string       { return s.prefix + "outages:seq:" + day }
func (s *Store) activeKey() string              { return s.prefix + "outages:active" }
func (s *Store) activeAreaKey(a string) string  { return s.prefix + "outages:active:area:" + a }
func (s *Store) activeTrKey(tr string) string   { return s.prefix + "outages:active:transformer:" + tr }
func (s *Store) historyAreaKey(a string) string { return s.prefix + "outages:by_area:" + a }
func (s *Store) allKey() string                 { return s.prefix + "outages:all" }

// ValidID reports whether id has the shape of an outage ID.
func ValidID(id string) bool { return ids.Valid(id, 'O') }

// cleanName trims an area or transformer name and checks that it can be
// part of a key (ids.CleanName: the same rules as every store).
func cleanName(what, v string) (string, error) {
	v, err := ids.CleanName(what, v)
	if err != nil {
		return "", fmt.Errorf("%w: %w", ErrInvalid, err)
	}
	return v, nil
}

// declareScript stores a new outage and indexes it, refusing when the ID
// is taken (a lost counter must not destroy an outage) or the transformer
// already has an active outage.
//
// KEYS[1] outage, KEYS[2] active zset, KEYS[3] transformer's active key,
// KEYS[4] area's active zset, KEYS[5] area's history zset, KEYS[6] every
// outage.
// ARGV[1] JSON, ARGV[2] score, ARGV[3] id, ARGV[4] "1" if transformer
// set, ARGV[5] "1" if area set.
// Returns {1, id} stored, {0, ""} ID taken, {-1, existing} conflict.
var declareScript = redis.NewScript(`
if redis.call('EXISTS', KEYS[1]) == 1 then
  return {0, ''}
end
if ARGV[4] == '1' then
  local cur = redis.call('GET', KEYS[3])
  if cur then
    return {-1, cur}
  end
end
redis.call('SET', KEYS[1], ARGV[1])
redis.call('ZADD', KEYS[2], ARGV[2], ARGV[3])
redis.call('ZADD', KEYS[6], ARGV[2], ARGV[3])
if ARGV[4] == '1' then
  redis.call('SET', KEYS[3], ARGV[3])
end
if ARGV[5] == '1' then
  redis.call('ZADD', KEYS[4], ARGV[2], ARGV[3])
  redis.call('ZADD', KEYS[5], ARGV[2], ARGV[3])
end
return {1, ARGV[3]}
`)

// declareAttempts bounds how many IDs Declare burns on collisions.
const declareAttempts = 5

// Declare validates and stores a new active outage and returns it with its
// ID. Kind must be known; Area or Transformer given; DeclaredBy given;
// StartedAt zero (meaning now) or not in the future; ExpectedRestore zero
// (unknown) or after both now and StartedAt. ID, ParentTicket, ClearedAt
// and ClearedBy in o are ignored.
//
// When the transformer already has an active outage the error is a
// *ConflictError naming it (errors.Is(err, ErrConflict)); use Update.
func (s *Store) Declare(ctx context.Context, o Outage) (Outage, error) {
	var err error
	if !o.Kind.Known() {
		return Outage{}, fmt.Errorf("%w: unknown kind %q", ErrInvalid, o.Kind)
	}
	if o.Area, err = cleanName("area", o.Area); err != nil {
		return Outage{}, err
	}
	if o.Transformer, err = cleanName("transformer", o.Transformer); err != nil {
		return Outage{}, err
	}
	if o.Line, err = cleanName("line", o.Line); err != nil {
		return Outage{}, err
	}
	if o.Area == "" && o.Transformer == "" {
		return Outage{}, fmt.Errorf("%w: area or transformer required", ErrInvalid)
	}
	o.DeclaredBy = strings.TrimSpace(o.DeclaredBy)
	if o.DeclaredBy == "" {
		return Outage{}, fmt.Errorf("%w: declared_by required", ErrInvalid)
	}
	o.Reason = strings.TrimSpace(o.Reason)
	now := s.now()
	if o.StartedAt.IsZero() {
		o.StartedAt = now
	}
	if o.StartedAt.After(now.Add(startSkew)) {
		return Outage{}, fmt.Errorf("%w: started_at %s is in the future", ErrInvalid, o.StartedAt.Format(time.RFC3339))
	}
	if err := checkRestore(o.ExpectedRestore, o.StartedAt, now); err != nil {
		return Outage{}, err
	}
	o.ID, o.ParentTicket, o.ClearedAt, o.ClearedBy = "", "", time.Time{}, ""
	o.ConfirmedBy, o.ConfirmedAt, o.RestoreUpdates = "", time.Time{}, 0
	if !o.Unconfirmed {
		// An operator's declaration is its own confirmation.
		o.ConfirmedBy, o.ConfirmedAt = o.DeclaredBy, now
	}
	o.OverrunGrace = s.grace

	score := o.StartedAt.UnixMilli()
	for range declareAttempts {
		id, err := s.nextID(ctx, now)
		if err != nil {
			return Outage{}, err
		}
		o.ID = id
		js, err := json.Marshal(o)
		if err != nil {
			return Outage{}, fmt.Errorf("outages: encode %s: %w", id, err)
		}
		keys := []string{s.outageKey(id), s.activeKey(), s.activeTrKey(o.Transformer),
			s.activeAreaKey(o.Area), s.historyAreaKey(o.Area), s.allKey()}
		res, err := declareScript.Run(ctx, s.rdb, keys, string(js), score, id,
			flag(o.Transformer != ""), flag(o.Area != "")).Slice()
		if err != nil {
			return Outage{}, fmt.Errorf("outages: declare %s: %w", id, err)
		}
		code, other, err := scriptReply(res)
		if err != nil {
			return Outage{}, fmt.Errorf("outages: declare %s: %w", id, err)
		}
		switch code {
		case 1:
			return o, nil
		case -1:
			return Outage{}, &ConflictError{Transformer: o.Transformer, Existing: other}
		}
		// The ID was already taken; the counter has moved on, try the next.
	}
	return Outage{}, fmt.Errorf("outages: declare: %d IDs in a row already in use: %w", declareAttempts, ErrConflict)
}

func checkRestore(restore, started, now time.Time) error {
	if restore.IsZero() {
		return nil
	}
	if !restore.After(now) || !restore.After(started) {
		return fmt.Errorf("%w: expected_restore %s is not in the future", ErrInvalid, restore.Format(time.RFC3339))
	}
	return nil
}

func flag(b bool) string {
	if b {
		return "1"
	}
	return "0"
}

// scriptReply decodes a {code, string} script reply.
func scriptReply(res []any) (int64, string, error) {
	if len(res) != 2 {
		return 0, "", fmt.Errorf("unexpected script reply %v", res)
	}
	code, ok1 := res[0].(int64)
	str, ok2 := res[1].(string)
	if !ok1 || !ok2 {
		return 0, "", fmt.Errorf("unexpected script reply %v", res)
	}
	return code, str, nil
}

// nextID allocates the next ID for the day of now (China time).
func (s *Store) nextID(ctx context.Context, now time.Time) (string, error) {
	id, err := ids.Next(ctx, s.rdb, 'O', s.seqKey, now)
	if err != nil {
		return "", fmt.Errorf("outages: %w", err)
	}
	return id, nil
}

// Get returns the outage with the given ID, active or cleared.
func (s *Store) Get(ctx context.Context, id string) (Outage, error) {
	id = strings.TrimSpace(id)
	if !ValidID(id) {
		return Outage{}, fmt.Errorf("outage %q: %w", id, ErrNotFound)
	}
	js, err := s.rdb.Get(ctx, s.outageKey(id)).Result()
	if errors.Is(err, redis.Nil) {
		return Outage{}, fmt.Errorf("outage %s: %w", id, ErrNotFound)
	}
	if err != nil {
		return Outage{}, fmt.Errorf("outages: get %s: %w", id, err)
	}
	return s.decode(id, js)
}

func (s *Store) decode(id, js string) (Outage, error) {
	var o Outage
	if err := json.Unmarshal([]byte(js), &o); err != nil {
		return Outage{}, fmt.Errorf("outages: decode %s: %w", id, err)
	}
	o.OverrunGrace = s.grace
	return o, nil
}

// load fetches the outages with the given IDs in one round trip, in the
// same order, skipping IDs whose record is gone.
func (s *Store) load(ctx context.Context, ids []string) ([]Outage, error) {
	if len(ids) == 0 {
		return nil, nil
	}
	keys := make([]string, len(ids))
	for i, id := range ids {
		keys[i] = s.outageKey(id)
	}
	vals, err := s.rdb.MGet(ctx, keys...).Result()
	if err != nil {
		return nil, fmt.Errorf("outages: load: %w", err)
	}
	out := make([]Outage, 0, len(ids))
	for i, v := range vals {
		js, ok := v.(string)
		if !ok {
			continue // index entry without a record: skip rather than fail
		}
		o, err := s.decode(ids[i], js)
		if err != nil {
			return nil, err
		}
		out = append(out, o)
	}
	return out, nil
}

// Active returns every active outage, oldest StartedAt first, overrun ones
// included.
func (s *Store) Active(ctx context.Context) ([]Outage, error) {
	ids, err := s.rdb.ZRange(ctx, s.activeKey(), 0, -1).Result()
	if err != nil {
		return nil, fmt.Errorf("outages: active: %w", err)
	}
	outs, err := s.load(ctx, ids)
	if err != nil {
		return nil, err
	}
	return keepActive(outs), nil
}

// keepActive drops outages cleared between reading an index and reading
// the records.
func keepActive(outs []Outage) []Outage {
	kept := outs[:0]
	for _, o := range outs {
		if o.Active() {
			kept = append(kept, o)
		}
	}
	return kept
}

// ForCustomer returns the active outage that covers a customer on the given
// area and transformer (either may be ""), and false when none does. An
// outage on the customer's transformer wins over an area-wide one; among
// several area-wide outages the most recently started wins. An outage on
// another transformer in the same area does not cover the customer, nor
// does any transformer outage when the customer's transformer is unknown.
// Overrun outages are returned too; check Overrun before reading out the
// restore time.
func (s *Store) ForCustomer(ctx context.Context, area, transformer string) (Outage, bool, error) {
	area, transformer = strings.TrimSpace(area), strings.TrimSpace(transformer)
	if transformer != "" {
		id, err := s.rdb.Get(ctx, s.activeTrKey(transformer)).Result()
		switch {
		case errors.Is(err, redis.Nil):
		case err != nil:
			return Outage{}, false, fmt.Errorf("outages: for customer: %w", err)
		default:
			o, err := s.Get(ctx, id)
			if err != nil && !errors.Is(err, ErrNotFound) {
				return Outage{}, false, err
			}
			if err == nil && o.Active() {
				return o, true, nil
			}
		}
	}
	if area == "" {
		return Outage{}, false, nil
	}
	ids, err := s.rdb.ZRevRange(ctx, s.activeAreaKey(area), 0, -1).Result()
	if err != nil {
		return Outage{}, false, fmt.Errorf("outages: for customer: %w", err)
	}
	outs, err := s.load(ctx, ids)
	if err != nil {
		return Outage{}, false, err
	}
	for _, o := range outs {
		if o.Active() && o.Transformer == "" && o.Area == area {
			return o, true, nil
		}
	}
	return Outage{}, false, nil
}
