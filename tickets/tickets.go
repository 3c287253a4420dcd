// Package tickets stores the hotline's work orders (工单).
//
// All state lives in Redis so that two controller replicas can serve one
// hotline. Key layout, with prefix P (default "hotline:"):
//
//	P ticket:<id>                 string  JSON of Ticket
//	P tickets:seq:<YYYYMMDD>      string  daily ID counter (INCR), expires after 3 days
//	P tickets:all                 zset    id, score = created unix ms
//	P tickets:by_type:<type>      zset    id, score = created unix ms
//	P tickets:by_phone:<phone>    zset    id, score = created unix ms
//	P tickets:by_account:<number> zset    id, score = created unix ms
//
// A ticket and its index entries are written by one Lua script, so a reader
// never sees one without the other. With Redis Cluster, give the prefix a
// hash tag (e.g. "{hotline}:") so that all keys live in one slot.
package tickets

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/hotline95598/hotline/accounts"
	"github.com/redis/go-redis/v9"
)

// DefaultPrefix is the key prefix used when New is given an empty one.
const DefaultPrefix = "hotline:"

var (
	// ErrNotFound: no ticket with that ID.
	ErrNotFound = errors.New("tickets: not found")
	// ErrInvalid: the ticket or request failed validation.
	ErrInvalid = errors.New("tickets: invalid")
	// ErrSequenceExhausted: the day's 999999 IDs are used up.
	ErrSequenceExhausted = errors.New("tickets: daily sequence exhausted")
	// ErrConflict: an update kept losing races with other writers.
	ErrConflict = errors.New("tickets: too much contention")
)

// Type is the business type of a work order.
type Type string

const (
	TypeFault        Type = "fault"        // 故障报修
	TypeComplaint    Type = "complaint"    // 投诉
	TypeReport       Type = "report"       // 举报
	TypeConsultation Type = "consultation" // 咨询
	TypeService      Type = "service"      // 业务申请
	TypeOpinion      Type = "opinion"      // 意见
	TypeSuggestion   Type = "suggestion"   // 建议
	TypePraise       Type = "praise"       // 表扬
)

// Known reports whether t is one of the Type constants.
func (t Type) Known() bool {
	switch t {
	case TypeFault, TypeComplaint, TypeReport, TypeConsultation,
		TypeService, TypeOpinion, TypeSuggestion, TypePraise:
		return true
	}
	return false
}

// Status is where a work order is in its life cycle.
type Status string

const (
	StatusAccepted   Status = "accepted"    // 受理: taken by the IVR or an agent
	StatusRegistered Status = "registered"  // 登记
	StatusAssigned   Status = "assigned"    // 派单
	StatusInProgress Status = "in_progress" // 处理中
	StatusResolved   Status = "resolved"    // 已处理
	StatusFollowUp   Status = "follow_up"   // 回访
	StatusClosed     Status = "closed"      // 归档
)

// Channel95598 is the default channel: a call to the hotline.
const Channel95598 = "95598"

// Ticket is one work order.
type Ticket struct {
	ID          string       `json:"id"` // YYYYMMDD + 6-digit daily sequence
	Type        Type         `json:"type"`
	Status      Status       `json:"status"`
	Channel     string       `json:"channel"`
	Phone       string       `json:"phone"` // normalised, see accounts.NormalizePhone
	Account     string       `json:"account"`
	Name        string       `json:"name"`
	Address     string       `json:"address"`
	Area        string       `json:"area"`
	Transformer string       `json:"transformer"`
	CallID      string       `json:"call_id"`
	MenuPath    string       `json:"menu_path"`
	Note        string       `json:"note"`
	CreatedAt   time.Time    `json:"created_at"`
	UpdatedAt   time.Time    `json:"updated_at"`
	Audit       []AuditEntry `json:"audit"`
}

// AuditEntry records one thing done to a ticket.
type AuditEntry struct {
	At     time.Time `json:"at"`
	Actor  string    `json:"actor"`
	Action string    `json:"action"`
	Note   string    `json:"note"`
}

// Audit actions written by this package.
const (
	ActionAccepted = "accepted"
	ActionNote     = "note"
)

// DefaultActor is who accepted a ticket when Create is not told otherwise.
const DefaultActor = "ivr"

// List limits.
const (
	DefaultLimit = 50
	MaxLimit     = 1000
)

// seqTTL keeps a day's counter a little past midnight, so a replica whose
// clock lags behind still increments yesterday's counter instead of
// recreating it from 1 and reusing IDs.
const seqTTL = 3 * 24 * time.Hour

// maxSeq: the sequence has six digits; a seventh would change the ID
// length that agents and callers rely on.
const maxSeq = 999999

// china is the zone ticket IDs are dated in. Mainland China has had no
// daylight saving since 1991, so a fixed offset is exact and needs no tzdata
// in the container.
var china = time.FixedZone("CST", 8*3600)

// Store reads and writes tickets in Redis.
type Store struct {
	rdb    redis.UniversalClient
	prefix string
	now    func() time.Time
}

// New returns a Store using keys under prefix (DefaultPrefix when empty) and
// now for timestamps (time.Now when nil).
func New(rdb redis.UniversalClient, prefix string, now func() time.Time) *Store {
	if prefix == "" {
		prefix = DefaultPrefix
	}
	if now == nil {
		now = time.Now
	}
	return &Store{rdb: rdb, prefix: prefix, now: now}
}

func (s *Store) ticketKey(id string) string    { return s.prefix + "ticket:" + id }
func (s *Store) seqKey(day string) string      { return s.prefix + "tickets:seq:" + day }
func (s *Store) allKey() string                { return s.prefix + "tickets:all" }
func (s *Store) typeKey(t Type) string         { return s.prefix + "tickets:by_type:" + string(t) }
func (s *Store) phoneKey(phone string) string  { return s.prefix + "tickets:by_phone:" + phone }
func (s *Store) accountKey(acct string) string { return s.prefix + "tickets:by_account:" + acct }

// createScript writes a new ticket and its index entries in one atomic step.
// It refuses to overwrite an existing ticket: IDs come from a counter, and if
// that counter were ever lost or reset (a flushed key, a restored backup) we
// would rather skip a number than destroy a work order.
//
// KEYS[1] ticket key, KEYS[2..] index sorted sets.
// ARGV[1] JSON, ARGV[2] score (unix ms), ARGV[3] id.
var createScript = redis.NewScript(`
if redis.call('EXISTS', KEYS[1]) == 1 then
  return 0
end
redis.call('SET', KEYS[1], ARGV[1])
for i = 2, #KEYS do
  redis.call('ZADD', KEYS[i], ARGV[2], ARGV[3])
end
return 1
`)

// createAttempts bounds how many IDs Create burns on collisions.
const createAttempts = 5

// Create stores a new ticket and returns it with its ID, status accepted,
// channel (Channel95598 when empty), timestamps and a first audit entry
// {Action: "accepted"}. The accepting actor and note are taken from
// t.Audit[0] when the caller supplies one (an agent creating a ticket),
// otherwise the actor is DefaultActor; any other supplied audit entries and
// the ID, status and timestamps in t are ignored.
//
// Type must be known and Phone or Account given; the phone is normalised.
func (s *Store) Create(ctx context.Context, t Ticket) (Ticket, error) {
	t.Phone = strings.TrimSpace(t.Phone)
	t.Account = strings.TrimSpace(t.Account)
	if !t.Type.Known() {
		return Ticket{}, fmt.Errorf("%w: unknown type %q", ErrInvalid, t.Type)
	}
	if t.Phone == "" && t.Account == "" {
		return Ticket{}, fmt.Errorf("%w: phone or account required", ErrInvalid)
	}
	if t.Phone != "" {
		p := accounts.NormalizePhone(t.Phone)
		if !accounts.ValidPhone(p) {
			return Ticket{}, fmt.Errorf("%w: bad phone %q", ErrInvalid, t.Phone)
		}
		t.Phone = p
	}
	if t.Account != "" && !digits(t.Account) {
		// It becomes part of an index key, and account numbers are digits.
		return Ticket{}, fmt.Errorf("%w: bad account %q", ErrInvalid, t.Account)
	}

	now := s.now()
	actor, note := DefaultActor, ""
	if len(t.Audit) > 0 {
		if a := strings.TrimSpace(t.Audit[0].Actor); a != "" {
			actor = a
		}
		note = t.Audit[0].Note
	}
	if t.Channel == "" {
		t.Channel = Channel95598
	}
	t.Status = StatusAccepted
	t.CreatedAt, t.UpdatedAt = now, now
	t.Audit = []AuditEntry{{At: now, Actor: actor, Action: ActionAccepted, Note: note}}

	score := now.UnixMilli()
	for range createAttempts {
		id, err := s.nextID(ctx, now)
		if err != nil {
			return Ticket{}, err
		}
		t.ID = id
		js, err := json.Marshal(t)
		if err != nil {
			return Ticket{}, fmt.Errorf("tickets: encode %s: %w", id, err)
		}
		keys := []string{s.ticketKey(id), s.allKey(), s.typeKey(t.Type)}
		if t.Phone != "" {
			keys = append(keys, s.phoneKey(t.Phone))
		}
		if t.Account != "" {
			keys = append(keys, s.accountKey(t.Account))
		}
		created, err := createScript.Run(ctx, s.rdb, keys, string(js), score, id).Int()
		if err != nil {
			return Ticket{}, fmt.Errorf("tickets: create %s: %w", id, err)
		}
		if created == 1 {
			return t, nil
		}
		// The ID was already taken; the counter has moved on, try the next.
	}
	return Ticket{}, fmt.Errorf("tickets: create: %d IDs in a row already in use: %w", createAttempts, ErrConflict)
}

// nextID allocates the next ID for the day of now (China time). INCR and
// EXPIRE go in one MULTI so that a counter never survives without expiry.
func (s *Store) nextID(ctx context.Context, now time.Time) (string, error) {
	day := now.In(china).Format("20060102")
	var incr *redis.IntCmd
	_, err := s.rdb.TxPipelined(ctx, func(pipe redis.Pipeliner) error {
		incr = pipe.Incr(ctx, s.seqKey(day))
		pipe.Expire(ctx, s.seqKey(day), seqTTL)
		return nil
	})
	if err != nil {
		return "", fmt.Errorf("tickets: allocate id: %w", err)
	}
	n := incr.Val()
	if n > maxSeq {
		return "", fmt.Errorf("tickets: allocate id for %s: %w", day, ErrSequenceExhausted)
	}
	return fmt.Sprintf("%s%06d", day, n), nil
}

// ValidID reports whether id has the shape of a ticket ID: 14 digits.
func ValidID(id string) bool { return len(id) == 14 && digits(id) }

func digits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return s != ""
}

// Get returns the ticket with the given ID.
func (s *Store) Get(ctx context.Context, id string) (Ticket, error) {
	id = strings.TrimSpace(id)
	if !ValidID(id) {
		return Ticket{}, fmt.Errorf("ticket %q: %w", id, ErrNotFound)
	}
	js, err := s.rdb.Get(ctx, s.ticketKey(id)).Result()
	if errors.Is(err, redis.Nil) {
		return Ticket{}, fmt.Errorf("ticket %s: %w", id, ErrNotFound)
	}
	if err != nil {
		return Ticket{}, fmt.Errorf("tickets: get %s: %w", id, err)
	}
	return decode(id, js)
}

func decode(id, js string) (Ticket, error) {
	var t Ticket
	if err := json.Unmarshal([]byte(js), &t); err != nil {
		return Ticket{}, fmt.Errorf("tickets: decode %s: %w", id, err)
	}
	return t, nil
}

// ListByPhone returns the tickets raised from phone, newest first; limit <= 0
// means DefaultLimit, and it is capped at MaxLimit.
func (s *Store) ListByPhone(ctx context.Context, phone string, limit int) ([]Ticket, error) {
	return s.List(ctx, Filter{Phone: phone, Limit: limit})
}

// Filter selects tickets for List. Zero fields do not filter. Since is
// inclusive, Until exclusive, both on CreatedAt.
type Filter struct {
	Type   Type
	Status Status
	Phone  string
	// Account restricts to one account number.
	Account string
	Since   time.Time
	Until   time.Time
	Limit   int // <= 0 means DefaultLimit; capped at MaxLimit
}

// listPage is how many IDs List fetches per round trip while filtering.
const listPage = 200

// List returns the tickets matching f, newest first.
//
// It walks the most selective index (phone, account, type, or all) by
// creation time and checks the remaining conditions on the tickets
// themselves. Status in particular is checked that way rather than through
// an index, because statuses change and an index would have to follow every
// transition to stay truthful.
func (s *Store) List(ctx context.Context, f Filter) ([]Ticket, error) {
	limit := f.Limit
	if limit <= 0 {
		limit = DefaultLimit
	}
	limit = min(limit, MaxLimit)
	if f.Type != "" && !f.Type.Known() {
		return nil, fmt.Errorf("%w: unknown type %q", ErrInvalid, f.Type)
	}
	phone := ""
	if strings.TrimSpace(f.Phone) != "" {
		phone = accounts.NormalizePhone(f.Phone)
		if !accounts.ValidPhone(phone) {
			return nil, nil // no ticket can have been stored under it
		}
	}
	acct := strings.TrimSpace(f.Account)
	if acct != "" && !digits(acct) {
		return nil, nil
	}

	index := s.allKey()
	switch {
	case phone != "":
		index = s.phoneKey(phone)
	case acct != "":
		index = s.accountKey(acct)
	case f.Type != "":
		index = s.typeKey(f.Type)
	}
	rng := redis.ZRangeBy{Min: "-inf", Max: "+inf", Count: listPage}
	if !f.Since.IsZero() {
		rng.Min = fmt.Sprint(f.Since.UnixMilli())
	}
	if !f.Until.IsZero() {
		rng.Max = fmt.Sprintf("(%d", f.Until.UnixMilli())
	}

	match := func(t Ticket) bool {
		return (f.Type == "" || t.Type == f.Type) &&
			(f.Status == "" || t.Status == f.Status) &&
			(phone == "" || t.Phone == phone) &&
			(acct == "" || t.Account == acct)
	}
	// When the index alone decides the match, fetch no more than needed.
	exact := f.Status == "" &&
		(f.Type == "" || index == s.typeKey(f.Type)) &&
		(acct == "" || index == s.accountKey(acct))
	if exact {
		rng.Count = int64(min(limit, listPage))
	}

	var out []Ticket
	for {
		ids, err := s.rdb.ZRevRangeByScore(ctx, index, &rng).Result()
		if err != nil {
			return nil, fmt.Errorf("tickets: list: %w", err)
		}
		if len(ids) == 0 {
			return out, nil
		}
		keys := make([]string, len(ids))
		for i, id := range ids {
			keys[i] = s.ticketKey(id)
		}
		vals, err := s.rdb.MGet(ctx, keys...).Result()
		if err != nil {
			return nil, fmt.Errorf("tickets: list: %w", err)
		}
		for i, v := range vals {
			js, ok := v.(string)
			if !ok {
				continue // index entry without a ticket: skip rather than fail the list
			}
			t, err := decode(ids[i], js)
			if err != nil {
				return nil, err
			}
			if match(t) {
				out = append(out, t)
				if len(out) == limit {
					return out, nil
				}
			}
		}
		if int64(len(ids)) < rng.Count {
			return out, nil
		}
		rng.Offset += int64(len(ids))
	}
}

// AddNote appends a note to a ticket's audit trail.
func (s *Store) AddNote(ctx context.Context, id, actor, note string) error {
	actor, note = strings.TrimSpace(actor), strings.TrimSpace(note)
	if actor == "" || note == "" {
		return fmt.Errorf("%w: note needs an actor and text", ErrInvalid)
	}
	return s.update(ctx, id, func(t *Ticket, now time.Time) error {
		t.Audit = append(t.Audit, AuditEntry{At: now, Actor: actor, Action: ActionNote, Note: note})
		return nil
	})
}

// updateAttempts bounds optimistic retries in update. Each retry means
// another writer changed the same ticket in the few milliseconds between our
// read and write, so a handful is plenty.
const updateAttempts = 10

// update applies fn to the stored ticket and writes it back, retrying when
// another replica changed the ticket in between (WATCH/MULTI). It is the
// building block for every change to an existing ticket, so audit entries
// are never lost to a concurrent writer. fn must not change ID, Type, Phone,
// Account or CreatedAt, which the indexes depend on.
func (s *Store) update(ctx context.Context, id string, fn func(t *Ticket, now time.Time) error) error {
	id = strings.TrimSpace(id)
	if !ValidID(id) {
		return fmt.Errorf("ticket %q: %w", id, ErrNotFound)
	}
	key := s.ticketKey(id)
	for range updateAttempts {
		// fnErr marks errors that are already final, so that only failures
		// of WATCH itself get wrapped below.
		var fnErr error
		err := s.rdb.Watch(ctx, func(tx *redis.Tx) error {
			fnErr = s.applyUpdate(ctx, tx, id, key, fn)
			return fnErr
		}, key)
		switch {
		case errors.Is(err, redis.TxFailedErr):
			continue // someone else wrote the ticket first: read it again
		case err == nil || err == fnErr:
			return err
		default:
			return fmt.Errorf("tickets: update %s: %w", id, err)
		}
	}
	return fmt.Errorf("tickets: update %s: %w", id, ErrConflict)
}

func (s *Store) applyUpdate(ctx context.Context, tx *redis.Tx, id, key string, fn func(*Ticket, time.Time) error) error {
	js, err := tx.Get(ctx, key).Result()
	if errors.Is(err, redis.Nil) {
		return fmt.Errorf("ticket %s: %w", id, ErrNotFound)
	}
	if err != nil {
		return fmt.Errorf("tickets: update %s: %w", id, err)
	}
	t, err := decode(id, js)
	if err != nil {
		return err
	}
	now := s.now()
	if err := fn(&t, now); err != nil {
		return err
	}
	t.UpdatedAt = now
	out, err := json.Marshal(t)
	if err != nil {
		return fmt.Errorf("tickets: encode %s: %w", id, err)
	}
	_, err = tx.TxPipelined(ctx, func(pipe redis.Pipeliner) error {
		pipe.Set(ctx, key, out, 0)
		return nil
	})
	if err != nil {
		// Wrapped with %w, so errors.Is still sees redis.TxFailedErr.
		return fmt.Errorf("tickets: update %s: %w", id, err)
	}
	return nil
}
