package tickets

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
)

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
