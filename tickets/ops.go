package tickets

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
)

// SetFirstResponder records who first answered the caller of order id, and
// in which agent queue (首问负责制: whoever takes it owns it). It is
// idempotent: an order that already has a first responder is returned
// unchanged, so the call path may call it on every answered call. The
// change is in the audit trail.
func (s *Store) SetFirstResponder(ctx context.Context, id, who, queue string) (Ticket, error) {
	who, queue = strings.TrimSpace(who), strings.TrimSpace(queue)
	if who == "" {
		return Ticket{}, fmt.Errorf("%w: first responder needs who answered", ErrInvalid)
	}
	var unchanged bool
	t, err := s.updateTicket(ctx, id, func(t *Ticket, now time.Time) error {
		if t.FirstResponder != "" {
			unchanged = true
			return errUnchanged
		}
		t.FirstResponder, t.FirstResponderAt, t.Queue = who, now, queue
		note := "first responder (首问负责): " + who
		if queue != "" {
			note += " in the " + queue + " queue"
		}
		t.Audit = append(t.Audit, AuditEntry{At: now, Actor: who, Action: ActionFirstResponder, Note: note, To: who})
		return nil
	})
	if unchanged {
		return s.Get(ctx, id)
	}
	return t, err
}

// errUnchanged tells updateTicket's callers that fn wrote nothing on purpose.
var errUnchanged = errors.New("tickets: unchanged")

// MeetDeadline marks the active deadlines of kind (and group, when not
// empty) met at at, which may lie in the past: the watcher finds out
// late that the leadership's call back was answered on time. It returns
// the ticket and how many deadlines it marked.
func (s *Store) MeetDeadline(ctx context.Context, id, kind, group string, at time.Time, actor, note string) (Ticket, int, error) {
	if strings.TrimSpace(actor) == "" || strings.TrimSpace(note) == "" {
		return Ticket{}, 0, fmt.Errorf("%w: meeting a deadline needs an actor and a note", ErrInvalid)
	}
	n := 0
	t, err := s.updateTicket(ctx, id, func(t *Ticket, now time.Time) error {
		for i := range t.Deadlines {
			d := &t.Deadlines[i]
			if d.Active() && d.Kind == kind && (group == "" || d.Group == group) {
				d.MetAt = at
				n++
			}
		}
		if n == 0 {
			return errUnchanged
		}
		t.syncDue()
		t.Audit = append(t.Audit, AuditEntry{At: now, Actor: actor, Action: ActionNote,
			Note: fmt.Sprintf("%s; %s deadline met at %s", note, kind, at.Format(time.RFC3339))})
		return nil
	})
	if errors.Is(err, errUnchanged) {
		t, err = s.Get(ctx, id)
	}
	return t, n, err
}

// Merge puts an existing open order under a parent order, as if it had been
// merged when it was created: the fault reports that led to an outage being
// declared join the outage's parent. Both orders are written in one
// transaction, each with an audit entry. An order already under that
// parent is left as it is.
func (s *Store) Merge(ctx context.Context, childID, parentID, actor string) (Ticket, error) {
	childID, parentID, actor = strings.TrimSpace(childID), strings.TrimSpace(parentID), strings.TrimSpace(actor)
	if !ValidID(childID) || !ValidID(parentID) || childID == parentID || actor == "" {
		return Ticket{}, fmt.Errorf("%w: merge needs two different order ids and an actor", ErrInvalid)
	}
	ck, pk := s.ticketKey(childID), s.ticketKey(parentID)
	for range mergeAttempts {
		var out Ticket
		var fnErr error
		err := s.rdb.Watch(ctx, func(tx *redis.Tx) error {
			out, fnErr = s.mergeTx(ctx, tx, childID, parentID, ck, pk, actor)
			return fnErr
		}, ck, pk)
		switch {
		case errors.Is(err, redis.TxFailedErr):
			continue
		case err == nil || err == fnErr:
			return out, err
		default:
			return Ticket{}, fmt.Errorf("tickets: merge %s under %s: %w", childID, parentID, err)
		}
	}
	return Ticket{}, fmt.Errorf("tickets: merge %s under %s: %w", childID, parentID, ErrConflict)
}

func (s *Store) mergeTx(ctx context.Context, tx *redis.Tx, childID, parentID, ck, pk, actor string) (Ticket, error) {
	vals, err := tx.MGet(ctx, ck, pk).Result()
	if err != nil {
		return Ticket{}, fmt.Errorf("tickets: merge: %w", err)
	}
	got := make([]Ticket, 2)
	for i, id := range []string{childID, parentID} {
		js, ok := vals[i].(string)
		if !ok {
			return Ticket{}, fmt.Errorf("ticket %s: %w", id, ErrNotFound)
		}
		if got[i], err = decode(id, js); err != nil {
			return Ticket{}, err
		}
	}
	c, p := got[0], got[1]
	switch {
	case c.ParentID == parentID:
		return c, nil
	case c.ParentID != "":
		return Ticket{}, fmt.Errorf("%w: ticket %s is already merged under %s", ErrInvalid, c.ID, c.ParentID)
	case len(c.Children) > 0:
		return Ticket{}, fmt.Errorf("%w: ticket %s is itself a parent", ErrInvalid, c.ID)
	case !c.Status.Open() || !p.Status.Open():
		return Ticket{}, fmt.Errorf("%w: only open orders are merged (%s is %s, %s is %s)", ErrInvalid, c.ID, c.Status, p.ID, p.Status)
	case p.ParentID != "":
		return Ticket{}, fmt.Errorf("%w: parent %s is itself merged under %s; merge under that one", ErrInvalid, p.ID, p.ParentID)
	}
	now := s.now()
	c.ParentID, c.UpdatedAt = p.ID, now
	c.Audit = append(c.Audit, AuditEntry{At: now, Actor: actor, Action: ActionMergedInto, Note: "merged under " + p.ID, To: p.ID})
	p.Children, p.UpdatedAt = append(p.Children, c.ID), now
	p.Audit = append(p.Audit, AuditEntry{At: now, Actor: actor, Action: ActionMerged,
		Note: fmt.Sprintf("%s order %s merged (%d in all)", c.Type, c.ID, len(p.Children)), To: c.ID})
	cjs, err := json.Marshal(c)
	if err != nil {
		return Ticket{}, err
	}
	pjs, err := json.Marshal(p)
	if err != nil {
		return Ticket{}, err
	}
	_, err = tx.TxPipelined(ctx, func(pipe redis.Pipeliner) error {
		pipe.Set(ctx, ck, cjs, 0)
		pipe.Set(ctx, pk, pjs, 0)
		s.writeIndexes(ctx, pipe, &c)
		s.writeIndexes(ctx, pipe, &p)
		return nil
	})
	if err == nil {
		err = s.ack.Wait(ctx, tx)
	}
	if err != nil {
		return Ticket{}, fmt.Errorf("tickets: merge: %w", err)
	}
	return c, nil
}

// ScanPage is how many orders Scan reads per round trip.
const ScanPage = 500

// Scan calls fn with every order created in [since, until) (a zero bound
// leaves that end open), oldest first, a page at a time, whatever their
// number: a report of a period reads the whole period. It pages by rank
// over the creation index, so each page costs one range query and one
// MGET, and orders created while it runs (later than until, or appended
// after the last rank read) do not shift what it reads. fn must not keep
// the slice. An error from fn stops the scan and is returned.
func (s *Store) Scan(ctx context.Context, since, until time.Time, fn func([]Ticket) error) error {
	return s.scan(ctx, s.allKey(), since, until, fn)
}

// ScanType is Scan over the orders of one type.
func (s *Store) ScanType(ctx context.Context, typ Type, since, until time.Time, fn func([]Ticket) error) error {
	if !typ.Known() {
		return fmt.Errorf("%w: unknown type %q", ErrInvalid, typ)
	}
	return s.scan(ctx, s.typeKey(typ), since, until, fn)
}

func (s *Store) scan(ctx context.Context, key string, since, until time.Time, fn func([]Ticket) error) error {
	lo, hi := "-inf", "+inf"
	if !since.IsZero() {
		lo = fmt.Sprintf("(%d", since.UnixMilli())
	}
	if !until.IsZero() {
		hi = fmt.Sprintf("(%d", until.UnixMilli())
	}
	var before, upto *redis.IntCmd
	_, err := s.rdb.Pipelined(ctx, func(pipe redis.Pipeliner) error {
		before = pipe.ZCount(ctx, key, "-inf", lo)
		upto = pipe.ZCount(ctx, key, "-inf", hi)
		return nil
	})
	if err != nil {
		return fmt.Errorf("tickets: scan: %w", err)
	}
	first, last := before.Val(), upto.Val()-1
	if since.IsZero() {
		first = 0
	}
	for start := first; start <= last; start += ScanPage {
		ids, err := s.rdb.ZRange(ctx, key, start, min(start+ScanPage-1, last)).Result()
		if err != nil {
			return fmt.Errorf("tickets: scan: %w", err)
		}
		ts, err := s.load(ctx, ids)
		if err != nil {
			return fmt.Errorf("tickets: scan: %w", err)
		}
		if err := fn(ts); err != nil {
			return err
		}
	}
	return nil
}
