package tickets

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/hotline95598/hotline/accounts"
)

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
