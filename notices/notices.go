// Package notices keeps the timed notices (公告) operators place before the
// main menu: a storm, a planned outage, a holiday, anything callers should
// hear before they choose. A notice is for every caller or for one area,
// and plays from its Start to its End unless withdrawn first. Notices are
// placed and withdrawn through the API on a running hotline; every call
// asks Active which ones to play.
//
// All state lives in Redis so that every controller replica plays the same
// notices. Key layout, with prefix P (default "hotline:"):
//
//	P notice:<id>                 string  JSON of Notice; expires Retention after it stops playing
//	P notices:seq:<YYYYMMDD>      string  daily ID counter (INCR), expires after 3 days
//	P notices:index               zset    every id still kept, score = when it stops playing (unix ms)
//	P notices:live:all            zset    ids for every caller, not withdrawn, score = End (unix ms)
//	P notices:live:area:<area>    zset    ids for that area, not withdrawn, score = End (unix ms)
//
// "Stops playing" is End, or the withdrawal time when withdrawn earlier.
// Active reads the two live sets from now on (one round trip) and the
// records with one MGET (a second), so it is cheap enough for every call.
// Ended ids are pruned from the sets on every write, and each set expires
// when its last member no longer needs it, so nothing grows without end.
//
// Every change touches several keys in one Lua script (Create, Withdraw),
// so a replica never sees a notice half placed or half withdrawn. With
// Redis Cluster, give the prefix a hash tag (e.g. "{hotline}:") so that all
// keys live in one slot.
//
// Expiry is set relative to the Store's clock (PX, not PXAT), so a replica
// whose clock differs from Redis's still keeps a record as long as meant.
package notices

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"sort"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/hotline95598/hotline/internal/ids"
	"github.com/hotline95598/hotline/prompts"
	"github.com/redis/go-redis/v9"
)

// DefaultPrefix is the key prefix used when New is given an empty one.
const DefaultPrefix = "hotline:"

// Limits on what an operator may place.
const (
	// MaxSpan bounds how long one notice plays: a notice left on for a
	// season is a mistake more often than a plan. Renew it if needed.
	MaxSpan = 92 * 24 * time.Hour
	// MaxLead bounds how far ahead a notice may be placed.
	MaxLead = 366 * 24 * time.Hour
	// Retention keeps a notice's record this long after it stops playing,
	// for audit (GET by id, List with ended ones).
	Retention = 30 * 24 * time.Hour
	// MaxTextLen bounds the free text, in characters.
	MaxTextLen = 500
)

var (
	// ErrNotFound: no notice with that ID (or its record has expired).
	ErrNotFound = errors.New("notices: not found")
	// ErrInvalid: the notice or request failed validation.
	ErrInvalid = errors.New("notices: invalid")
	// ErrConflict: the notice has already ended, or a change kept losing
	// races with other writers.
	ErrConflict = errors.New("notices: conflict")
)

// Kind says what a notice is about; it picks the default prompt.
type Kind string

const (
	KindStorm   Kind = "storm"   // severe weather, supply may be interrupted
	KindPlanned Kind = "planned" // planned outages (计划停电)
	KindHoliday Kind = "holiday" // holiday service arrangements
	KindGeneral Kind = "general" // anything else
)

// Kinds lists the known kinds.
var Kinds = []Kind{KindStorm, KindPlanned, KindHoliday, KindGeneral}

// Known reports whether k is one of Kinds.
func (k Kind) Known() bool {
	for _, x := range Kinds {
		if k == x {
			return true
		}
	}
	return false
}

// DefaultPrompt is the catalogue prompt a notice of kind k plays when it
// names neither a prompt nor a sound: notice_<kind>.
func (k Kind) DefaultPrompt() string { return "notice_" + string(k) }

// Notice is one timed notice.
type Notice struct {
	ID   string `json:"id"` // "N" + YYYYMMDD (China time) + 3-digit daily sequence
	Kind Kind   `json:"kind"`
	// Area is the customer accounts' area the notice is for; "" means
	// every caller, including callers whose account is unknown.
	Area  string    `json:"area"`
	Start time.Time `json:"start"`
	End   time.Time `json:"end"`
	// Prompt is the catalogue prompt played, in the caller's voice; set to
	// the kind's default when neither Prompt nor Sound is given.
	Prompt string `json:"prompt,omitempty"`
	// Sound is an operator's own studio recording, installed as
	// sound:hotline/notices/<Sound>; when set it plays instead of a prompt,
	// as recorded, whatever the caller's voice.
	Sound       string    `json:"sound,omitempty"`
	Text        string    `json:"text,omitempty"` // what it says, for operators and logs
	CreatedBy   string    `json:"created_by"`
	CreatedAt   time.Time `json:"created_at"`
	WithdrawnAt time.Time `json:"withdrawn_at,omitzero"` // zero unless withdrawn
	WithdrawnBy string    `json:"withdrawn_by,omitempty"`
}

// Withdrawn reports whether an operator withdrew the notice.
func (n Notice) Withdrawn() bool { return !n.WithdrawnAt.IsZero() }

// Until is when the notice stops playing: End, or the withdrawal if that
// came first.
func (n Notice) Until() time.Time {
	if n.Withdrawn() && n.WithdrawnAt.Before(n.End) {
		return n.WithdrawnAt
	}
	return n.End
}

// PlayingAt reports whether the notice plays to callers at t.
func (n Notice) PlayingAt(t time.Time) bool {
	return !n.Withdrawn() && !t.Before(n.Start) && t.Before(n.End)
}

// Media is what Asterisk plays for the notice to a caller in voice (""
// Mandarin, prompts.VoiceEnglish, prompts.VoiceSlow).
func (n Notice) Media(voice string) string {
	if n.Sound != "" {
		return "sound:hotline/notices/" + n.Sound
	}
	p := n.Prompt
	if p == "" {
		p = n.Kind.DefaultPrompt()
	}
	return prompts.MediaIn(voice, p)
}

// soundName is the shape of a recording's name: a file name without
// directory or extension, so it cannot point outside hotline/notices.
var soundName = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]{0,63}$`)

// Store reads and writes notices in Redis. It is safe for concurrent use.
type Store struct {
	rdb    redis.UniversalClient
	prefix string
	now    func() time.Time
}

// New returns a Store using keys under prefix (DefaultPrefix when empty)
// and now for the time (time.Now when nil).
func New(rdb redis.UniversalClient, prefix string, now func() time.Time) *Store {
	if prefix == "" {
		prefix = DefaultPrefix
	}
	if now == nil {
		now = time.Now
	}
	return &Store{rdb: rdb, prefix: prefix, now: now}
}

func (s *Store) noticeKey(id string) string { return s.prefix + "notice:" + id }
func (s *Store) seqKey(day string) string   { return s.prefix + "notices:seq:" + day }
func (s *Store) indexKey() string           { return s.prefix + "notices:index" }

// liveKey is the set of playing or future notices for area ("" = all).
func (s *Store) liveKey(area string) string {
	if area == "" {
		return s.prefix + "notices:live:all"
	}
	return s.prefix + "notices:live:area:" + area
}

// ValidID reports whether id has the shape of a notice ID.
func ValidID(id string) bool { return ids.Valid(id, 'N') }

// cleanArea trims an area name and checks that it can be part of a key;
// the same rules as outages (ids.CleanName), so one area name means the
// same to both.
func cleanArea(v string) (string, error) {
	v, err := ids.CleanName("area", v)
	if err != nil {
		return "", fmt.Errorf("%w: %w", ErrInvalid, err)
	}
	return v, nil
}

// validate checks and completes a notice to be created at now.
func validate(n *Notice, now time.Time) error {
	var err error
	if !n.Kind.Known() {
		return fmt.Errorf("%w: unknown kind %q (one of storm, planned, holiday, general)", ErrInvalid, n.Kind)
	}
	if n.Area, err = cleanArea(n.Area); err != nil {
		return err
	}
	n.CreatedBy = strings.TrimSpace(n.CreatedBy)
	if n.CreatedBy == "" {
		return fmt.Errorf("%w: created_by required", ErrInvalid)
	}
	n.Prompt, n.Sound = strings.TrimSpace(n.Prompt), strings.TrimSpace(n.Sound)
	switch {
	case n.Prompt != "" && n.Sound != "":
		return fmt.Errorf("%w: give prompt or sound, not both", ErrInvalid)
	case n.Sound != "":
		if !soundName.MatchString(n.Sound) {
			return fmt.Errorf("%w: sound %q must be a recording's name: lower-case letters, digits, _ and -, at most 64", ErrInvalid, n.Sound)
		}
	case n.Prompt != "":
		if !prompts.Has(n.Prompt) {
			return fmt.Errorf("%w: prompt %q is not in the prompt catalogue", ErrInvalid, n.Prompt)
		}
	default:
		n.Prompt = n.Kind.DefaultPrompt()
	}
	n.Text = strings.TrimSpace(n.Text)
	if utf8.RuneCountInString(n.Text) > MaxTextLen || !utf8.ValidString(n.Text) {
		return fmt.Errorf("%w: text longer than %d characters or not UTF-8", ErrInvalid, MaxTextLen)
	}
	if strings.IndexFunc(n.Text, func(r rune) bool { return unicode.IsControl(r) && r != '\n' }) >= 0 {
		return fmt.Errorf("%w: text has control characters", ErrInvalid)
	}
	if n.Start.IsZero() {
		n.Start = now
	}
	switch {
	case n.End.IsZero():
		return fmt.Errorf("%w: end required", ErrInvalid)
	case !n.End.After(n.Start):
		return fmt.Errorf("%w: end %s is not after start %s", ErrInvalid, n.End.Format(time.RFC3339), n.Start.Format(time.RFC3339))
	case !n.End.After(now):
		return fmt.Errorf("%w: end %s is in the past", ErrInvalid, n.End.Format(time.RFC3339))
	case n.End.Sub(n.Start) > MaxSpan:
		return fmt.Errorf("%w: a notice may play for at most %d days, this one for %.1f: place a shorter one and renew it",
			ErrInvalid, int(MaxSpan/(24*time.Hour)), n.End.Sub(n.Start).Hours()/24)
	case n.Start.After(now.Add(MaxLead)):
		return fmt.Errorf("%w: start %s is more than %d days ahead", ErrInvalid, n.Start.Format(time.RFC3339), int(MaxLead/(24*time.Hour)))
	}
	n.CreatedAt = now
	n.ID, n.WithdrawnAt, n.WithdrawnBy = "", time.Time{}, ""
	return nil
}

// tidy is shared by the scripts: it prunes what stopped playing from the
// live set and what is past retention from the index, and lets each set
// expire when its last member no longer needs it.
//
// KEYS[2] index, KEYS[3] live set. ARGV[a] now ms, ARGV[a+1] retention ms.
const tidy = `
local function tidy(now, keep)
  redis.call('ZREMRANGEBYSCORE', KEYS[3], '-inf', now)
  redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', now - keep)
  local last = redis.call('ZRANGE', KEYS[3], -1, -1, 'WITHSCORES')
  if last[2] then
    redis.call('PEXPIRE', KEYS[3], string.format('%d', tonumber(last[2]) - now + 1))
  end
  last = redis.call('ZRANGE', KEYS[2], -1, -1, 'WITHSCORES')
  if last[2] then
    redis.call('PEXPIRE', KEYS[2], string.format('%d', tonumber(last[2]) - now + keep + 1))
  end
end
`

// createScript stores a new notice and indexes it, refusing when the ID is
// taken (a lost counter must not destroy a notice).
//
// KEYS[1] notice, KEYS[2] index, KEYS[3] live set of its area.
// ARGV[1] JSON, ARGV[2] id, ARGV[3] End ms, ARGV[4] record TTL ms,
// ARGV[5] now ms, ARGV[6] retention ms.
// Returns 1 stored, 0 ID taken.
var createScript = redis.NewScript(tidy + `
if redis.call('EXISTS', KEYS[1]) == 1 then
  return 0
end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[4])
redis.call('ZADD', KEYS[2], ARGV[3], ARGV[2])
redis.call('ZADD', KEYS[3], ARGV[3], ARGV[2])
tidy(tonumber(ARGV[5]), tonumber(ARGV[6]))
return 1
`)

// createAttempts bounds how many IDs Create burns on collisions.
const createAttempts = 5

// Create validates and stores a new notice and returns it with its ID.
// Kind must be known and CreatedBy given. Start zero means now; End is
// required, after Start and after now, at most MaxSpan after Start, and
// Start at most MaxLead ahead. Prompt and Sound are optional and exclusive:
// a Prompt must be in the catalogue, a Sound a plain recording name; with
// neither the kind's default prompt is set. ID, CreatedAt and the
// withdrawal fields in n are ignored.
func (s *Store) Create(ctx context.Context, n Notice) (Notice, error) {
	now := s.now()
	if err := validate(&n, now); err != nil {
		return Notice{}, err
	}
	ttl := n.End.Add(Retention).Sub(now)
	for range createAttempts {
		id, err := s.nextID(ctx, now)
		if err != nil {
			return Notice{}, err
		}
		n.ID = id
		js, err := json.Marshal(n)
		if err != nil {
			return Notice{}, fmt.Errorf("notices: encode %s: %w", id, err)
		}
		keys := []string{s.noticeKey(id), s.indexKey(), s.liveKey(n.Area)}
		ok, err := createScript.Run(ctx, s.rdb, keys, string(js), id, n.End.UnixMilli(), ttl.Milliseconds(),
			now.UnixMilli(), Retention.Milliseconds()).Int()
		if err != nil {
			return Notice{}, fmt.Errorf("notices: create %s: %w", id, err)
		}
		if ok == 1 {
			return n, nil
		}
		// The ID was already taken; the counter has moved on, try the next.
	}
	return Notice{}, fmt.Errorf("notices: create: %d IDs in a row already in use: %w", createAttempts, ErrConflict)
}

// nextID allocates the next ID for the day of now (China time).
func (s *Store) nextID(ctx context.Context, now time.Time) (string, error) {
	id, err := ids.Next(ctx, s.rdb, 'N', s.seqKey, now)
	if err != nil {
		return "", fmt.Errorf("notices: %w", err)
	}
	return id, nil
}

// Get returns the notice with the given ID, playing, future, ended or
// withdrawn, as long as its record is kept (Retention after it stopped).
func (s *Store) Get(ctx context.Context, id string) (Notice, error) {
	id = strings.TrimSpace(id)
	if !ValidID(id) {
		return Notice{}, fmt.Errorf("notice %q: %w", id, ErrNotFound)
	}
	js, err := s.rdb.Get(ctx, s.noticeKey(id)).Result()
	if errors.Is(err, redis.Nil) {
		return Notice{}, fmt.Errorf("notice %s: %w", id, ErrNotFound)
	}
	if err != nil {
		return Notice{}, fmt.Errorf("notices: get %s: %w", id, err)
	}
	return decode(id, js)
}

func decode(id, js string) (Notice, error) {
	var n Notice
	if err := json.Unmarshal([]byte(js), &n); err != nil {
		return Notice{}, fmt.Errorf("notices: decode %s: %w", id, err)
	}
	return n, nil
}

// load fetches the notices with the given IDs in one round trip, in the
// same order, skipping IDs whose record is gone.
func (s *Store) load(ctx context.Context, ids []string) ([]Notice, error) {
	if len(ids) == 0 {
		return nil, nil
	}
	keys := make([]string, len(ids))
	for i, id := range ids {
		keys[i] = s.noticeKey(id)
	}
	vals, err := s.rdb.MGet(ctx, keys...).Result()
	if err != nil {
		return nil, fmt.Errorf("notices: load: %w", err)
	}
	out := make([]Notice, 0, len(ids))
	for i, v := range vals {
		js, ok := v.(string)
		if !ok {
			continue // index entry whose record expired: skip rather than fail
		}
		n, err := decode(ids[i], js)
		if err != nil {
			return nil, err
		}
		out = append(out, n)
	}
	return out, nil
}

// byStart orders notices by Start, then ID.
func byStart(ns []Notice) {
	sort.SliceStable(ns, func(i, j int) bool {
		if !ns[i].Start.Equal(ns[j].Start) {
			return ns[i].Start.Before(ns[j].Start)
		}
		return ns[i].ID < ns[j].ID
	})
}

// List returns the notices playing now or still to come, ordered by Start;
// with ended set, also those that ended or were withdrawn and are still
// kept (Retention).
func (s *Store) List(ctx context.Context, ended bool) ([]Notice, error) {
	now := s.now()
	rng := redis.ZRangeBy{Min: "(" + fmt.Sprint(now.UnixMilli()), Max: "+inf"}
	if ended {
		rng.Min = "-inf"
	}
	ids, err := s.rdb.ZRangeByScore(ctx, s.indexKey(), &rng).Result()
	if err != nil {
		return nil, fmt.Errorf("notices: list: %w", err)
	}
	ns, err := s.load(ctx, ids)
	if err != nil {
		return nil, err
	}
	if !ended {
		kept := ns[:0]
		for _, n := range ns {
			if !n.Withdrawn() && now.Before(n.End) {
				kept = append(kept, n)
			}
		}
		ns = kept
	}
	byStart(ns)
	return ns, nil
}

// Active returns the notices to play now to a caller in area ("" when the
// caller's account or area is unknown: then only the notices for every
// caller): those for every caller first, then the area's, each group
// ordered by Start. Two round trips: the two live sets, then the records.
func (s *Store) Active(ctx context.Context, area string) ([]Notice, error) {
	area = strings.TrimSpace(area)
	now := s.now()
	rng := &redis.ZRangeBy{Min: "(" + fmt.Sprint(now.UnixMilli()), Max: "+inf"}
	var all, mine *redis.StringSliceCmd
	_, err := s.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		all = p.ZRangeByScore(ctx, s.liveKey(""), rng)
		if area != "" {
			mine = p.ZRangeByScore(ctx, s.liveKey(area), rng)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("notices: active: %w", err)
	}
	ids := all.Val()
	if mine != nil {
		ids = append(ids, mine.Val()...)
	}
	ns, err := s.load(ctx, ids)
	if err != nil {
		return nil, err
	}
	// The sets hold future notices too, and a withdrawal may land between
	// the two reads: the records decide.
	kept := ns[:0]
	for _, n := range ns {
		if n.PlayingAt(now) && (n.Area == "" || n.Area == area) {
			kept = append(kept, n)
		}
	}
	byStart(kept)
	sort.SliceStable(kept, func(i, j int) bool { return kept[i].Area == "" && kept[j].Area != "" })
	return kept, nil
}

// withdrawScript replaces a notice record if it still holds what was read,
// takes it out of its live set and re-scores it in the index by when it
// stopped playing.
//
// KEYS[1] notice, KEYS[2] index, KEYS[3] live set of its area.
// ARGV[1] old JSON, ARGV[2] new JSON, ARGV[3] id, ARGV[4] stop ms,
// ARGV[5] record TTL ms, ARGV[6] now ms, ARGV[7] retention ms.
// Returns 1 written, 0 the record changed meanwhile, -1 gone.
var withdrawScript = redis.NewScript(tidy + `
local cur = redis.call('GET', KEYS[1])
if not cur then
  return -1
end
if cur ~= ARGV[1] then
  return 0
end
redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[5])
redis.call('ZREM', KEYS[3], ARGV[3])
redis.call('ZADD', KEYS[2], ARGV[4], ARGV[3])
tidy(tonumber(ARGV[6]), tonumber(ARGV[7]))
return 1
`)

// casAttempts bounds optimistic retries; each retry means another writer
// changed the same notice between our read and write.
const casAttempts = 10

// Withdraw stops a notice from playing, now and for good, and records who
// withdrew it; it stays readable for Retention. Withdrawing a withdrawn
// notice changes nothing and returns it as first withdrawn, with a nil
// error, so that a retried request does not see a failure. A notice that
// has already ended is ErrConflict, an unknown ID ErrNotFound.
func (s *Store) Withdraw(ctx context.Context, id, by string) (Notice, error) {
	id, by = strings.TrimSpace(id), strings.TrimSpace(by)
	if by == "" {
		return Notice{}, fmt.Errorf("%w: withdrawn_by required", ErrInvalid)
	}
	if !ValidID(id) {
		return Notice{}, fmt.Errorf("notice %q: %w", id, ErrNotFound)
	}
	key := s.noticeKey(id)
	for range casAttempts {
		old, err := s.rdb.Get(ctx, key).Result()
		if errors.Is(err, redis.Nil) {
			return Notice{}, fmt.Errorf("notice %s: %w", id, ErrNotFound)
		}
		if err != nil {
			return Notice{}, fmt.Errorf("notices: withdraw %s: %w", id, err)
		}
		n, err := decode(id, old)
		if err != nil {
			return Notice{}, err
		}
		now := s.now()
		if n.Withdrawn() {
			return n, nil
		}
		if !now.Before(n.End) {
			return Notice{}, fmt.Errorf("%w: notice %s already ended at %s", ErrConflict, id, n.End.Format(time.RFC3339))
		}
		n.WithdrawnAt, n.WithdrawnBy = now, by
		js, err := json.Marshal(n)
		if err != nil {
			return Notice{}, fmt.Errorf("notices: encode %s: %w", id, err)
		}
		stop := n.Until()
		keys := []string{key, s.indexKey(), s.liveKey(n.Area)}
		res, err := withdrawScript.Run(ctx, s.rdb, keys, old, string(js), id, stop.UnixMilli(),
			stop.Add(Retention).Sub(now).Milliseconds(), now.UnixMilli(), Retention.Milliseconds()).Int()
		if err != nil {
			return Notice{}, fmt.Errorf("notices: withdraw %s: %w", id, err)
		}
		switch res {
		case 1:
			return n, nil
		case -1:
			return Notice{}, fmt.Errorf("notice %s: %w", id, ErrNotFound)
		}
	}
	return Notice{}, fmt.Errorf("notices: withdraw %s: too much contention: %w", id, ErrConflict)
}
