// Package tickets stores the hotline's work orders (工单) and moves them
// through the 95598 closed loop (accept → register → assign → handle →
// resolve → follow up → close, with urge, supervise, escalate and reopen on
// the way); see Apply and Transitions.
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
//	P tickets:open                zset    open tickets (Status.Open), score = created unix ms
//	P tickets:open:<type>         zset    the same, per type (CountOpen)
//	P tickets:deadlines           zset    open tickets with a deadline, score = Ticket.NextDeadline unix ms
//
// A ticket and its index entries are written in one MULTI/EXEC under WATCH
// of the ticket (and, for a merged child, its parent), so a reader never
// sees one without the other and the open and deadline indexes always match
// the stored status. With Redis Cluster, give the prefix a hash tag (e.g.
// "{hotline}:") so that all keys live in one slot.
//
// Tickets stored before the open and deadline indexes existed join them on
// their next change.
package tickets

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/hotline95598/hotline/accounts"
	"github.com/hotline95598/hotline/internal/china"
	"github.com/hotline95598/hotline/internal/durable"
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
	// ErrIllegalTransition: the action is not allowed in the ticket's
	// current status. The error is a *TransitionError saying which action,
	// which status and what to do instead.
	ErrIllegalTransition = errors.New("tickets: illegal transition")
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

// Types lists every Type, for per-type metrics and reports.
func Types() []Type {
	return []Type{TypeFault, TypeComplaint, TypeReport, TypeConsultation,
		TypeService, TypeOpinion, TypeSuggestion, TypePraise}
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

// Known reports whether s is one of the Status constants.
func (s Status) Known() bool {
	switch s {
	case StatusAccepted, StatusRegistered, StatusAssigned, StatusInProgress,
		StatusResolved, StatusFollowUp, StatusClosed:
		return true
	}
	return false
}

// Open reports whether the order is still being handled: accepted up to in
// progress. Resolved and follow-up orders are not open: the handling is
// done and its deadlines are met, and only the customer's verdict (which
// reopens it if unhappy) is outstanding.
func (s Status) Open() bool {
	switch s {
	case StatusAccepted, StatusRegistered, StatusAssigned, StatusInProgress:
		return true
	}
	return false
}

// Statuses lists every Status in life-cycle order.
func Statuses() []Status {
	return []Status{StatusAccepted, StatusRegistered, StatusAssigned, StatusInProgress,
		StatusResolved, StatusFollowUp, StatusClosed}
}

// Channels an order can arrive by.
const (
	Channel95598   = "95598"   // a call to the hotline (the default)
	Channel12398   = "12398"   // the energy regulator's hotline (escalated complaints)
	Channel12345   = "12345"   // the city government's service hotline
	ChannelCounter = "counter" // a service-hall counter
	ChannelLetter  = "letter"  // a letter or visit (信访)
	ChannelWeb     = "web"     // online: website, app, WeChat; also orders raised by staff
)

// ValidChannel reports whether c is one of the Channel constants.
func ValidChannel(c string) bool {
	switch c {
	case Channel95598, Channel12398, Channel12345, ChannelCounter, ChannelLetter, ChannelWeb:
		return true
	}
	return false
}

// Complaint event grades (seed 001), from V (solved inside the station) to
// I (needs the bureau's leadership). Only complaints carry a grade.
const (
	GradeV   = "V"
	GradeIV  = "IV"
	GradeIII = "III"
	GradeII  = "II"
	GradeI   = "I"
)

// ValidGrade reports whether g is one of the Grade constants.
func ValidGrade(g string) bool {
	switch g {
	case GradeV, GradeIV, GradeIII, GradeII, GradeI:
		return true
	}
	return false
}

// Follow-up (回访) outcomes recorded in Ticket.FollowUp.
const (
	FollowUpSatisfied   = "satisfied"
	FollowUpUnsatisfied = "unsatisfied"
	FollowUpNoAnswer    = "no_answer"
)

// ValidFollowUp reports whether o is a follow-up outcome ("" is not one).
func ValidFollowUp(o string) bool {
	return o == FollowUpSatisfied || o == FollowUpUnsatisfied || o == FollowUpNoAnswer
}

// Taxonomy decides which complaint / report class and subject ids exist.
// The taxonomy is policy data (it differs by province and revision), so the
// store is given one rather than knowing the list itself.
type Taxonomy interface {
	ValidSubject(class, subject string) bool
}

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

	// Class and Subject are complaint / report taxonomy ids (e.g. class
	// "business", subject "wrong_meter_reading"); empty until classified.
	Class   string `json:"class,omitempty"`
	Subject string `json:"subject,omitempty"`
	// Grade is the complaint event grade, GradeV..GradeI; "" for other types.
	Grade string `json:"grade,omitempty"`
	// Named: the reporter gave their name (实名). A named reporter must get
	// the follow-up call, so such an order cannot be closed without one.
	Named bool `json:"named"`
	// ParentID is set on a report merged under a parent order (many fault
	// reports from one transformer); Children lists them on the parent.
	ParentID string   `json:"parent_id,omitempty"`
	Children []string `json:"children,omitempty"`
	// AssignedTo is who handles it now (an agent, crew or station id).
	AssignedTo string `json:"assigned_to,omitempty"`
	// EscalationLevel is the ladder rung id (e.g. "staff"); the ladder is
	// policy data, so this package only stores the id.
	EscalationLevel string `json:"escalation_level,omitempty"`
	// Result is the handling result; resolving requires one.
	Result string `json:"result,omitempty"`
	// ContactBy and AnswerBy are the deadlines to contact the customer and
	// to answer them. They are computed by the caller from the policy (they
	// need working days) and stored so the watcher need not recompute them.
	ContactBy time.Time `json:"contact_by,omitzero"`
	AnswerBy  time.Time `json:"answer_by,omitzero"`
	// ContactedAt is when the customer was first contacted, which meets
	// ContactBy. Registering the order counts as contact: registration is
	// done with the customer, and every later step requires it.
	ContactedAt time.Time `json:"contacted_at,omitzero"`
	// FollowUp is the follow-up call's outcome: "" (none yet),
	// FollowUpSatisfied, FollowUpUnsatisfied or FollowUpNoAnswer.
	FollowUp       string    `json:"follow_up,omitempty"`
	UrgeCount      int       `json:"urge_count"`      // 催办
	SuperviseCount int       `json:"supervise_count"` // 督办
	RepeatCalls    int       `json:"repeat_calls"`    // later calls about this same order
	ClosedAt       time.Time `json:"closed_at,omitzero"`
}

// NextDeadline is the earliest deadline the open order still has to meet:
// ContactBy until the customer has been contacted, and AnswerBy. It is zero
// when the order is not open or has no deadline.
func (t Ticket) NextDeadline() time.Time {
	if !t.Status.Open() {
		return time.Time{}
	}
	var d time.Time
	if t.ContactedAt.IsZero() && !t.ContactBy.IsZero() {
		d = t.ContactBy
	}
	if !t.AnswerBy.IsZero() && (d.IsZero() || t.AnswerBy.Before(d)) {
		d = t.AnswerBy
	}
	return d
}

// AuditEntry records one thing done to a ticket.
type AuditEntry struct {
	At     time.Time `json:"at"`
	Actor  string    `json:"actor"`
	Action string    `json:"action"`
	Note   string    `json:"note"`
	// From and To say what the action changed, so reports need not parse
	// notes: the status for life-cycle moves, the assignee for assign and
	// transfer, the ladder level for escalate, the count for urge,
	// supervise and repeat_call, the child id (To) for merged.
	From string `json:"from,omitempty"`
	To   string `json:"to,omitempty"`
}

// Audit actions that are not Apply actions. They stay untyped so that they
// fit AuditEntry.Action (a string) as well as Action; ActionNote is both an
// audit action and an Apply action.
const (
	ActionAccepted   = "accepted"
	ActionNote       = "note"
	ActionMerged     = "merged"      // on a parent: a child order was merged under it
	ActionRepeatCall = "repeat_call" // the customer called again about the order
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

// Store reads and writes tickets in Redis.
type Store struct {
	rdb    redis.UniversalClient
	prefix string
	now    func() time.Time
	// tax is swapped atomically because a policy reload may replace the
	// taxonomy while calls are creating orders.
	tax atomic.Pointer[Taxonomy]
	// ack: how many Redis replicas must hold a created or changed ticket
	// before the caller is told (SetReplicaAck).
	ack durable.Policy
}

// SetReplicaAck makes every ticket write wait, on its transaction's
// connection, until p.Replicas replicas hold it; a write they do not
// confirm in time returns an error wrapping durable.ErrNotReplicated (the
// ticket is on the master, but nobody may be told its number). Call it
// before the store is used.
func (s *Store) SetReplicaAck(p durable.Policy) { s.ack = p }

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

// SetTaxonomy sets the class / subject validator used by Create; nil
// accepts any non-empty ids. Safe to call while the store is in use.
func (s *Store) SetTaxonomy(t Taxonomy) {
	if t == nil {
		s.tax.Store(nil)
		return
	}
	s.tax.Store(&t)
}

func (s *Store) taxonomy() Taxonomy {
	if p := s.tax.Load(); p != nil {
		return *p
	}
	return nil
}

func (s *Store) ticketKey(id string) string    { return s.prefix + "ticket:" + id }
func (s *Store) seqKey(day string) string      { return s.prefix + "tickets:seq:" + day }
func (s *Store) allKey() string                { return s.prefix + "tickets:all" }
func (s *Store) typeKey(t Type) string         { return s.prefix + "tickets:by_type:" + string(t) }
func (s *Store) phoneKey(phone string) string  { return s.prefix + "tickets:by_phone:" + phone }
func (s *Store) accountKey(acct string) string { return s.prefix + "tickets:by_account:" + acct }
func (s *Store) openKey() string               { return s.prefix + "tickets:open" }
func (s *Store) openTypeKey(t Type) string     { return s.prefix + "tickets:open:" + string(t) }
func (s *Store) deadlineKey() string           { return s.prefix + "tickets:deadlines" }

// writeIndexes queues the open and deadline index entries that follow from
// t's current state. Every write of a ticket calls it inside the same
// MULTI, so the indexes can never disagree with the stored status; ZADD and
// ZREM are idempotent, so rewriting unchanged entries is harmless and
// heals a ticket written before these indexes existed.
func (s *Store) writeIndexes(ctx context.Context, pipe redis.Pipeliner, t *Ticket) {
	if !t.Status.Open() {
		pipe.ZRem(ctx, s.openKey(), t.ID)
		pipe.ZRem(ctx, s.openTypeKey(t.Type), t.ID)
		pipe.ZRem(ctx, s.deadlineKey(), t.ID)
		return
	}
	created := redis.Z{Score: float64(t.CreatedAt.UnixMilli()), Member: t.ID}
	pipe.ZAdd(ctx, s.openKey(), created)
	pipe.ZAdd(ctx, s.openTypeKey(t.Type), created)
	if d := t.NextDeadline(); !d.IsZero() {
		pipe.ZAdd(ctx, s.deadlineKey(), redis.Z{Score: float64(d.UnixMilli()), Member: t.ID})
	} else {
		pipe.ZRem(ctx, s.deadlineKey(), t.ID)
	}
}

// createAttempts bounds how many IDs Create burns on collisions.
const createAttempts = 5

// mergeAttempts bounds optimistic retries when creating a child races with
// other writers of its parent. A transformer failure makes many customers
// call within minutes, all merging under one parent, so this is well above
// updateAttempts. Each lost race means another writer got through, so the
// parent always progresses.
const mergeAttempts = 50

// errIDTaken: the allocated ID already holds a ticket; take the next one.
var errIDTaken = errors.New("tickets: id taken")

// Create stores a new ticket and returns it with its ID, status accepted,
// channel (Channel95598 when empty), timestamps and a first audit entry
// {Action: "accepted"}. The accepting actor and note are taken from
// t.Audit[0] when the caller supplies one (an agent creating a ticket),
// otherwise the actor is DefaultActor; any other supplied audit entries and
// the ID, status, timestamps and handling state in t (Children, AssignedTo,
// Result, FollowUp, counters, ContactedAt, ClosedAt) are ignored.
//
// The caller supplies what it knows at intake: Class and Subject (checked
// by the Taxonomy, see SetTaxonomy), Grade and EscalationLevel, Named,
// Channel, the ContactBy / AnswerBy deadlines from the policy, and ParentID
// to merge the report under a parent order. Merging appends the child's ID
// to the parent's Children and a "merged" audit entry to the parent in the
// same transaction as the child's creation. The parent must exist, be open
// (a new report against a resolved order means the fix did not hold, which
// deserves its own order) and not itself be a child.
//
// Type must be known; the phone is normalised. Phone or Account is required,
// except for a fault order naming an Area or Transformer: dispatch raises
// such an order for an outage, with no caller, as the parent that callers'
// reports merge under.
func (s *Store) Create(ctx context.Context, t Ticket) (Ticket, error) {
	if err := s.validateNew(&t); err != nil {
		return Ticket{}, err
	}

	now := s.now()
	actor, note := DefaultActor, ""
	if len(t.Audit) > 0 {
		if a := strings.TrimSpace(t.Audit[0].Actor); a != "" {
			actor = a
		}
		note = t.Audit[0].Note
	}
	t.Status = StatusAccepted
	t.CreatedAt, t.UpdatedAt = now, now
	t.Audit = []AuditEntry{{At: now, Actor: actor, Action: ActionAccepted, Note: note}}
	t.Children, t.AssignedTo, t.Result, t.FollowUp = nil, "", "", ""
	t.UrgeCount, t.SuperviseCount, t.RepeatCalls = 0, 0, 0
	t.ContactedAt, t.ClosedAt = time.Time{}, time.Time{}

	for range createAttempts {
		id, err := s.nextID(ctx, now)
		if err != nil {
			return Ticket{}, err
		}
		t.ID = id
		err = s.insert(ctx, t, actor)
		if errors.Is(err, errIDTaken) {
			continue // the counter has moved on, try the next ID
		}
		if err != nil {
			return Ticket{}, err
		}
		return t, nil
	}
	return Ticket{}, fmt.Errorf("tickets: create: %d IDs in a row already in use: %w", createAttempts, ErrConflict)
}

// validateNew checks and normalises the caller-supplied fields of a new
// ticket.
func (s *Store) validateNew(t *Ticket) error {
	t.Phone = strings.TrimSpace(t.Phone)
	t.Account = strings.TrimSpace(t.Account)
	t.Class = strings.TrimSpace(t.Class)
	t.Subject = strings.TrimSpace(t.Subject)
	t.Grade = strings.TrimSpace(t.Grade)
	t.ParentID = strings.TrimSpace(t.ParentID)
	t.EscalationLevel = strings.TrimSpace(t.EscalationLevel)
	t.Channel = strings.TrimSpace(t.Channel)
	if !t.Type.Known() {
		return fmt.Errorf("%w: unknown type %q", ErrInvalid, t.Type)
	}
	if t.Phone == "" && t.Account == "" &&
		(t.Type != TypeFault || (strings.TrimSpace(t.Area) == "" && strings.TrimSpace(t.Transformer) == "")) {
		return fmt.Errorf("%w: phone or account required", ErrInvalid)
	}
	if t.Phone != "" {
		p := accounts.NormalizePhone(t.Phone)
		if !accounts.ValidPhone(p) {
			return fmt.Errorf("%w: bad phone %q", ErrInvalid, t.Phone)
		}
		t.Phone = p
	}
	if t.Account != "" && !digits(t.Account) {
		// It becomes part of an index key, and account numbers are digits.
		return fmt.Errorf("%w: bad account %q", ErrInvalid, t.Account)
	}
	if t.Channel == "" {
		t.Channel = Channel95598
	}
	if !ValidChannel(t.Channel) {
		return fmt.Errorf("%w: unknown channel %q", ErrInvalid, t.Channel)
	}
	if err := s.validateSubject(t.Class, t.Subject); err != nil {
		return err
	}
	if err := validateGrade(t.Type, t.Grade); err != nil {
		return err
	}
	if t.ParentID != "" && !ValidID(t.ParentID) {
		return fmt.Errorf("%w: bad parent id %q", ErrInvalid, t.ParentID)
	}
	return nil
}

// validateSubject: both or neither, because a subject only means something
// within its class, and an order from the IVR is classified later by an
// agent.
func (s *Store) validateSubject(class, subject string) error {
	if class == "" && subject == "" {
		return nil
	}
	if class == "" || subject == "" {
		return fmt.Errorf("%w: class and subject go together (class %q, subject %q)", ErrInvalid, class, subject)
	}
	if tax := s.taxonomy(); tax != nil && !tax.ValidSubject(class, subject) {
		return fmt.Errorf("%w: unknown class/subject %q/%q", ErrInvalid, class, subject)
	}
	return nil
}

func validateGrade(typ Type, grade string) error {
	if grade == "" {
		return nil
	}
	if !ValidGrade(grade) {
		return fmt.Errorf("%w: unknown grade %q (want V, IV, III, II or I)", ErrInvalid, grade)
	}
	if typ != TypeComplaint {
		return fmt.Errorf("%w: grade %s on a %s order: only complaints are graded", ErrInvalid, grade, typ)
	}
	return nil
}

// insert writes the new ticket t (with its ID) and its indexes, and merges
// it under its parent, in one MULTI under WATCH of both keys. It refuses to
// overwrite an existing ticket: IDs come from a counter, and if that
// counter were ever lost or reset (a flushed key, a restored backup) we
// would rather skip a number than destroy a work order.
func (s *Store) insert(ctx context.Context, t Ticket, actor string) error {
	key := s.ticketKey(t.ID)
	keys := []string{key}
	if t.ParentID != "" {
		keys = append(keys, s.ticketKey(t.ParentID))
	}
	for range mergeAttempts {
		var fnErr error
		err := s.rdb.Watch(ctx, func(tx *redis.Tx) error {
			fnErr = s.insertTx(ctx, tx, t, key, actor)
			return fnErr
		}, keys...)
		switch {
		case errors.Is(err, redis.TxFailedErr):
			continue // the parent (or, after a lost counter, the ID) changed: look again
		case err == nil || err == fnErr:
			return err
		default:
			return fmt.Errorf("tickets: create %s: %w", t.ID, err)
		}
	}
	return fmt.Errorf("tickets: create %s under %s: %w", t.ID, t.ParentID, ErrConflict)
}

func (s *Store) insertTx(ctx context.Context, tx *redis.Tx, t Ticket, key, actor string) error {
	n, err := tx.Exists(ctx, key).Result()
	if err != nil {
		return fmt.Errorf("tickets: create %s: %w", t.ID, err)
	}
	if n > 0 {
		return errIDTaken
	}
	var parent *Ticket
	if t.ParentID != "" {
		p, err := s.mergeInto(ctx, tx, t, actor)
		if err != nil {
			return err
		}
		parent = &p
	}
	js, err := json.Marshal(t)
	if err != nil {
		return fmt.Errorf("tickets: encode %s: %w", t.ID, err)
	}
	var pjs []byte
	if parent != nil {
		if pjs, err = json.Marshal(parent); err != nil {
			return fmt.Errorf("tickets: encode %s: %w", parent.ID, err)
		}
	}
	created := redis.Z{Score: float64(t.CreatedAt.UnixMilli()), Member: t.ID}
	_, err = tx.TxPipelined(ctx, func(pipe redis.Pipeliner) error {
		pipe.Set(ctx, key, js, 0)
		pipe.ZAdd(ctx, s.allKey(), created)
		pipe.ZAdd(ctx, s.typeKey(t.Type), created)
		if t.Phone != "" {
			pipe.ZAdd(ctx, s.phoneKey(t.Phone), created)
		}
		if t.Account != "" {
			pipe.ZAdd(ctx, s.accountKey(t.Account), created)
		}
		s.writeIndexes(ctx, pipe, &t)
		if parent != nil {
			pipe.Set(ctx, s.ticketKey(parent.ID), pjs, 0)
			s.writeIndexes(ctx, pipe, parent)
		}
		return nil
	})
	if err == nil {
		err = s.ack.Wait(ctx, tx)
	}
	if err != nil {
		// Wrapped with %w, so errors.Is still sees redis.TxFailedErr.
		return fmt.Errorf("tickets: create %s: %w", t.ID, err)
	}
	return nil
}

// mergeInto reads the parent of the new child t inside the WATCH and
// returns it with the child recorded.
func (s *Store) mergeInto(ctx context.Context, tx *redis.Tx, t Ticket, actor string) (Ticket, error) {
	js, err := tx.Get(ctx, s.ticketKey(t.ParentID)).Result()
	if errors.Is(err, redis.Nil) {
		// ErrInvalid rather than ErrNotFound: the request is at fault, and
		// an API would otherwise answer "not found" for a create.
		return Ticket{}, fmt.Errorf("%w: parent %s does not exist", ErrInvalid, t.ParentID)
	}
	if err != nil {
		return Ticket{}, fmt.Errorf("tickets: create %s: read parent %s: %w", t.ID, t.ParentID, err)
	}
	p, err := decode(t.ParentID, js)
	if err != nil {
		return Ticket{}, err
	}
	if !p.Status.Open() {
		return Ticket{}, fmt.Errorf("%w: parent %s is %s; a new report deserves its own order", ErrInvalid, p.ID, p.Status)
	}
	if p.ParentID != "" {
		// One level keeps "all reports of this outage" a single lookup.
		return Ticket{}, fmt.Errorf("%w: parent %s is itself merged under %s; merge under that one", ErrInvalid, p.ID, p.ParentID)
	}
	p.Children = append(p.Children, t.ID)
	p.Audit = append(p.Audit, AuditEntry{At: t.CreatedAt, Actor: actor, Action: ActionMerged,
		Note: fmt.Sprintf("%s order %s merged (%d in all)", t.Type, t.ID, len(p.Children)), To: t.ID})
	p.UpdatedAt = t.CreatedAt
	return p, nil
}

// nextID allocates the next ID for the day of now (China time). INCR and
// EXPIRE go in one MULTI so that a counter never survives without expiry.
func (s *Store) nextID(ctx context.Context, now time.Time) (string, error) {
	day := now.In(china.Zone).Format("20060102")
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

// OpenByPhone returns the open tickets (Status.Open) raised from phone,
// newest first, so that the IVR or an agent can recognise a repeat caller
// and tell them the status of what they already reported.
func (s *Store) OpenByPhone(ctx context.Context, phone string) ([]Ticket, error) {
	return s.List(ctx, Filter{Phone: phone, Open: true, Limit: MaxLimit})
}

// Filter selects tickets for List. Zero fields do not filter. Since is
// inclusive, Until exclusive, both on CreatedAt.
type Filter struct {
	Type   Type
	Status Status
	Phone  string
	// Account restricts to one account number.
	Account string
	Area    string
	Class   string
	// Open keeps tickets whose Status is open (accepted .. in progress).
	Open bool
	// Overdue keeps open tickets whose AnswerBy has passed (the store's
	// clock). Overdue (the method) is wider: it also counts a missed
	// ContactBy, which is what the escalation watcher acts on.
	Overdue bool
	Since   time.Time
	Until   time.Time
	Limit   int // <= 0 means DefaultLimit; capped at MaxLimit
}

// listPage is how many IDs List fetches per round trip while filtering.
const listPage = 200

// List returns the tickets matching f, newest first.
//
// It walks the most selective index (phone, account, open by type, open,
// type, or all) by creation time and checks the remaining conditions on the
// tickets themselves. Status in particular is checked that way rather than
// through a per-status index, because statuses change and every such index
// would have to follow every transition; the one status distinction that is
// indexed, open or not, is the one the hotline asks about all the time.
func (s *Store) List(ctx context.Context, f Filter) ([]Ticket, error) {
	limit := f.Limit
	if limit <= 0 {
		limit = DefaultLimit
	}
	limit = min(limit, MaxLimit)
	if f.Type != "" && !f.Type.Known() {
		return nil, fmt.Errorf("%w: unknown type %q", ErrInvalid, f.Type)
	}
	if f.Status != "" && !f.Status.Known() {
		return nil, fmt.Errorf("%w: unknown status %q", ErrInvalid, f.Status)
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
	area, class := strings.TrimSpace(f.Area), strings.TrimSpace(f.Class)
	open := f.Open || f.Overdue
	now := s.now()

	// What the chosen index guarantees by itself.
	var byType, byAcct, byOpen bool
	index := s.allKey()
	switch {
	case phone != "":
		index = s.phoneKey(phone)
	case acct != "":
		index, byAcct = s.accountKey(acct), true
	case open && f.Type != "":
		index, byType, byOpen = s.openTypeKey(f.Type), true, true
	case open:
		index, byOpen = s.openKey(), true
	case f.Type != "":
		index, byType = s.typeKey(f.Type), true
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
			(acct == "" || t.Account == acct) &&
			(area == "" || t.Area == area) &&
			(class == "" || t.Class == class) &&
			(!open || t.Status.Open()) &&
			(!f.Overdue || (!t.AnswerBy.IsZero() && t.AnswerBy.Before(now)))
	}
	// When the index alone decides the match, fetch no more than needed.
	exact := f.Status == "" && area == "" && class == "" && !f.Overdue &&
		(f.Type == "" || byType) && (acct == "" || byAcct) && (!open || byOpen)
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
		ts, err := s.load(ctx, ids)
		if err != nil {
			return nil, fmt.Errorf("tickets: list: %w", err)
		}
		for _, t := range ts {
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

// load fetches the tickets with the given IDs in one MGET, in order,
// skipping IDs without a ticket: an index entry without its ticket should
// not fail a whole listing.
func (s *Store) load(ctx context.Context, ids []string) ([]Ticket, error) {
	keys := make([]string, len(ids))
	for i, id := range ids {
		keys[i] = s.ticketKey(id)
	}
	vals, err := s.rdb.MGet(ctx, keys...).Result()
	if err != nil {
		return nil, err
	}
	out := make([]Ticket, 0, len(ids))
	for i, v := range vals {
		js, ok := v.(string)
		if !ok {
			continue
		}
		t, err := decode(ids[i], js)
		if err != nil {
			return nil, err
		}
		out = append(out, t)
	}
	return out, nil
}

// AddNote appends a note to a ticket's audit trail; it is Apply with
// ActionNote.
func (s *Store) AddNote(ctx context.Context, id, actor, note string) error {
	if strings.TrimSpace(actor) == "" || strings.TrimSpace(note) == "" {
		return fmt.Errorf("%w: note needs an actor and text", ErrInvalid)
	}
	_, err := s.Apply(ctx, id, Change{Action: ActionNote, Actor: actor, Note: note})
	return err
}

// AddRepeatCall records that the customer called again about ticket id
// (the main cost of a hotline, and a figure in the complaint analysis).
// actor defaults to DefaultActor, the IVR that recognised the caller. It
// works in any status: a call about a closed order is still a repeat call.
func (s *Store) AddRepeatCall(ctx context.Context, id, actor string) error {
	actor = strings.TrimSpace(actor)
	if actor == "" {
		actor = DefaultActor
	}
	_, err := s.updateTicket(ctx, id, func(t *Ticket, now time.Time) error {
		t.RepeatCalls++
		t.Audit = append(t.Audit, AuditEntry{At: now, Actor: actor, Action: ActionRepeatCall,
			Note: fmt.Sprintf("customer called again while %s", t.Status),
			From: strconv.Itoa(t.RepeatCalls - 1), To: strconv.Itoa(t.RepeatCalls)})
		return nil
	})
	return err
}

// updateAttempts bounds optimistic retries in update. Each retry means
// another writer changed the same ticket in the few milliseconds between our
// read and write, so a handful is plenty.
const updateAttempts = 10

// update is updateTicket for callers that need only the error.
func (s *Store) update(ctx context.Context, id string, fn func(t *Ticket, now time.Time) error) error {
	_, err := s.updateTicket(ctx, id, fn)
	return err
}

// updateTicket applies fn to the stored ticket and writes it back with its
// open and deadline index entries, retrying when another replica changed
// the ticket in between (WATCH/MULTI), and returns the ticket as written.
// It is the building block for every change to an existing ticket, so audit
// entries are never lost to a concurrent writer and are written in the same
// transaction as the change they record. When fn fails nothing is written.
// fn must not change ID, Type, Phone, Account or CreatedAt, which the
// indexes depend on.
func (s *Store) updateTicket(ctx context.Context, id string, fn func(t *Ticket, now time.Time) error) (Ticket, error) {
	id = strings.TrimSpace(id)
	if !ValidID(id) {
		return Ticket{}, fmt.Errorf("ticket %q: %w", id, ErrNotFound)
	}
	key := s.ticketKey(id)
	for range updateAttempts {
		// fnErr marks errors that are already final, so that only failures
		// of WATCH itself get wrapped below.
		var fnErr error
		var t Ticket
		err := s.rdb.Watch(ctx, func(tx *redis.Tx) error {
			t, fnErr = s.applyUpdate(ctx, tx, id, key, fn)
			return fnErr
		}, key)
		switch {
		case errors.Is(err, redis.TxFailedErr):
			continue // someone else wrote the ticket first: read it again
		case err == nil:
			return t, nil
		case err == fnErr:
			return Ticket{}, err
		default:
			return Ticket{}, fmt.Errorf("tickets: update %s: %w", id, err)
		}
	}
	return Ticket{}, fmt.Errorf("tickets: update %s: %w", id, ErrConflict)
}

func (s *Store) applyUpdate(ctx context.Context, tx *redis.Tx, id, key string, fn func(*Ticket, time.Time) error) (Ticket, error) {
	js, err := tx.Get(ctx, key).Result()
	if errors.Is(err, redis.Nil) {
		return Ticket{}, fmt.Errorf("ticket %s: %w", id, ErrNotFound)
	}
	if err != nil {
		return Ticket{}, fmt.Errorf("tickets: update %s: %w", id, err)
	}
	t, err := decode(id, js)
	if err != nil {
		return Ticket{}, err
	}
	now := s.now()
	if err := fn(&t, now); err != nil {
		return Ticket{}, err
	}
	t.UpdatedAt = now
	out, err := json.Marshal(t)
	if err != nil {
		return Ticket{}, fmt.Errorf("tickets: encode %s: %w", id, err)
	}
	_, err = tx.TxPipelined(ctx, func(pipe redis.Pipeliner) error {
		pipe.Set(ctx, key, out, 0)
		s.writeIndexes(ctx, pipe, &t)
		return nil
	})
	if err == nil {
		err = s.ack.Wait(ctx, tx)
	}
	if err != nil {
		// Wrapped with %w, so errors.Is still sees redis.TxFailedErr.
		return Ticket{}, fmt.Errorf("tickets: update %s: %w", id, err)
	}
	return t, nil
}
