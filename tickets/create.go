package tickets

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/hotline95598/hotline/accounts"
	"github.com/hotline95598/hotline/internal/china"
)

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
// Result, FollowUp, counters, ContactedAt, ClosedAt, the closed-loop
// records) are ignored. An actor other than DefaultActor is the order's
// first responder (首问负责制).
//
// The caller supplies what it knows at intake: Class and Subject (checked
// by the Taxonomy, see SetTaxonomy; a report (举报) has a Subject only),
// Subtype, Grade and EscalationLevel, Named, Channel, the deadlines from
// the policy (Deadlines, or ContactBy / AnswerBy), and ParentID
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
	t.FirstResponder, t.FirstResponderAt, t.Queue = "", time.Time{}, ""
	if actor != DefaultActor && actor != SystemActor {
		t.FirstResponder, t.FirstResponderAt = actor, now
	}
	t.Responsibility, t.VerifiedAt, t.Proposal, t.Cause, t.Measure, t.Decision = "", time.Time{}, "", "", "", ""
	t.InvestigatedAt, t.WarnedAt, t.ProgressAt, t.ResolvedAt = time.Time{}, time.Time{}, time.Time{}, time.Time{}
	t.Survey = nil // only a call's caller answers the survey (RecordSurvey)
	given := t.Deadlines
	t.Deadlines = nil
	for _, d := range given {
		t.addDeadline(d, now)
	}
	for _, d := range []Deadline{{Kind: DeadlineContact, Due: t.ContactBy}, {Kind: DeadlineAnswer, Due: t.AnswerBy}} {
		if _, ok := t.earliest(d.Kind); !ok && !d.Due.IsZero() {
			d.Group = GroupLimit
			t.addDeadline(d, now)
		}
	}
	t.syncDue()

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
	t.Subtype = strings.TrimSpace(t.Subtype)
	for _, d := range t.Deadlines {
		if d.Kind == "" || d.Group == "" || d.Due.IsZero() {
			return fmt.Errorf("%w: a deadline needs a kind, a group and a due time", ErrInvalid)
		}
	}
	if err := s.validateSubject(t.Type, t.Class, t.Subject); err != nil {
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
// agent. A report (举报) has a subject of its own taxonomy and no class.
func (s *Store) validateSubject(typ Type, class, subject string) error {
	if typ == TypeReport {
		switch {
		case class != "":
			return fmt.Errorf("%w: a report (举报) has no complaint class (got %q): give its subject only", ErrInvalid, class)
		case subject == "":
			return nil
		case s.taxonomy() != nil && !s.taxonomy().ValidReportSubject(subject):
			return fmt.Errorf("%w: unknown report subject %q", ErrInvalid, subject)
		}
		return nil
	}
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
