// Package recordings keeps the index of call recordings and their files.
// Asterisk writes a recording of every call bridged to an agent (when the
// policy says all) into its recording directory; the controller finds the
// files there (HOTLINE_RECORDINGS_DIR), lists and serves them, and deletes
// them once the policy's retention has passed.
//
// Key layout, with prefix P:
//
//	P recording:<id>            hash  one recording (see Recording; times as unix ms)
//	P recordings                zset  id, score = start unix ms (the sweep reads it)
//	P recordings:call:<id>      zset  a call's recordings
//	P recordings:ticket:<id>    zset  a work order's
//	P recordings:phone:<phone>  zset  a customer's
//	P recordings:agent:<id>     zset  an agent's
//	P recordings:sweep:lease    string  the replica that sweeps now
//
// A recording's file is always <id>.wav in the directory, so the file of an
// index entry is known even when its hash is gone.
package recordings

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/hotline95598/hotline/accounts"
	"github.com/hotline95598/hotline/internal/china"
	"github.com/hotline95598/hotline/policy"
)

var (
	// ErrNotFound: no such recording, or its file is gone.
	ErrNotFound = errors.New("recordings: not found")
	// ErrInvalid: a recording or request failed validation.
	ErrInvalid = errors.New("recordings: invalid")
)

// Recording is one recorded call (or the agent leg of one).
type Recording struct {
	ID       string    `json:"id"` // also the name Asterisk stored it under
	CallID   string    `json:"call_id"`
	TicketID string    `json:"ticket_id,omitempty"`
	Agent    string    `json:"agent,omitempty"`
	Phone    string    `json:"phone,omitempty"`
	Queue    string    `json:"queue,omitempty"`
	Node     string    `json:"node,omitempty"` // the Asterisk node that wrote it
	Start    time.Time `json:"start"`
	// DurationS is zero while the call is still being recorded.
	DurationS float64 `json:"duration_s"`
	// File is the file's path relative to the recordings directory.
	File string `json:"file"`
}

// Store is the recordings index in Redis and the directory of the files.
type Store struct {
	rdb redis.UniversalClient
	p   string
	dir string
	pol policy.Recordings
	now func() time.Time
}

// New returns a store of the recordings in dir (HOTLINE_RECORDINGS_DIR)
// with the policy's switch and retention; now is the clock.
func New(rdb redis.UniversalClient, prefix, dir string, pol policy.Recordings, now func() time.Time) *Store {
	if now == nil {
		now = time.Now
	}
	if pol.Retention <= 0 {
		pol = policy.Default().Recordings()
	}
	return &Store{rdb: rdb, p: prefix, dir: dir, pol: pol, now: now}
}

// Policy is the recording policy in force.
func (s *Store) Policy() policy.Recordings { return s.pol }

// Dir is the recordings directory.
func (s *Store) Dir() string { return s.dir }

func (s *Store) key(id string) string      { return s.p + "recording:" + id }
func (s *Store) allKey() string            { return s.p + "recordings" }
func (s *Store) idx(kind, v string) string { return s.p + "recordings:" + kind + ":" + v }
func (s *Store) leaseKey() string          { return s.p + "recordings:sweep:lease" }

// fileOf is a recording's file in the directory: Asterisk stores the
// recording named id as <id>.wav.
func fileOf(id string) string { return id + ".wav" }

func ms(t time.Time) string { return strconv.FormatInt(t.UnixMilli(), 10) }

func fromMS(v string) time.Time {
	n, _ := strconv.ParseInt(v, 10, 64)
	return time.UnixMilli(n).In(china.Zone)
}

// badRune is a character a recording name may not have: names are one
// path segment Asterisk takes as a file name, with nothing to escape.
func badRune(r rune) bool {
	return !(r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r == '.' || r == '_' || r == '-')
}

func validID(id string) bool {
	return id != "" && len(id) <= 200 && id[0] != '.' && strings.IndexFunc(id, badRune) < 0
}

func (s *Store) indexes(r Recording) []string {
	keys := []string{s.allKey(), s.idx("call", r.CallID)}
	if r.TicketID != "" {
		keys = append(keys, s.idx("ticket", r.TicketID))
	}
	if r.Phone != "" {
		keys = append(keys, s.idx("phone", r.Phone))
	}
	if r.Agent != "" {
		keys = append(keys, s.idx("agent", r.Agent))
	}
	return keys
}

// Name is the id (and Asterisk recording name) of a call's recording
// started at start: sortable by time, one path segment, e.g.
// "20261122-103000-1795345960.0". attempt tells apart a call's second
// recording (after a transfer); 0 for the first.
func Name(callID string, start time.Time, attempt int) string {
	clean := strings.Map(func(r rune) rune {
		if badRune(r) {
			return '_'
		}
		return r
	}, callID)
	name := start.In(china.Zone).Format("20060102-150405") + "-" + clean
	if attempt > 0 {
		name += "-" + strconv.Itoa(attempt)
	}
	return name
}

// Add indexes a recording that has started.
func (s *Store) Add(ctx context.Context, r Recording) error {
	if r.Phone != "" && r.Phone != "anonymous" {
		r.Phone = accounts.NormalizePhone(r.Phone)
	}
	if !validID(r.ID) || r.CallID == "" || r.Start.IsZero() {
		return fmt.Errorf("%w: recording %q of call %q: id, call and start are required", ErrInvalid, r.ID, r.CallID)
	}
	r.File = fileOf(r.ID)
	_, err := s.rdb.TxPipelined(ctx, func(p redis.Pipeliner) error {
		p.HSet(ctx, s.key(r.ID), "call", r.CallID, "ticket", r.TicketID, "agent", r.Agent, "phone", r.Phone,
			"queue", r.Queue, "node", r.Node, "start", ms(r.Start), "duration_ms", int64(r.DurationS*1000))
		for _, k := range s.indexes(r) {
			p.ZAdd(ctx, k, redis.Z{Score: float64(r.Start.UnixMilli()), Member: r.ID})
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("recordings: add %s: %w", r.ID, err)
	}
	return nil
}

// Finish records that a recording ended at end.
func (s *Store) Finish(ctx context.Context, id string, end time.Time) error {
	r, err := s.Get(ctx, id)
	if err != nil {
		return err
	}
	d := max(end.Sub(r.Start), 0)
	if err := s.rdb.HSet(ctx, s.key(id), "duration_ms", d.Milliseconds()).Err(); err != nil {
		return fmt.Errorf("recordings: finish %s: %w", id, err)
	}
	return nil
}

// Get returns one recording.
func (s *Store) Get(ctx context.Context, id string) (Recording, error) {
	if !validID(id) {
		return Recording{}, fmt.Errorf("recording %q: %w", id, ErrNotFound)
	}
	h, err := s.rdb.HGetAll(ctx, s.key(id)).Result()
	if err != nil {
		return Recording{}, fmt.Errorf("recordings: get %s: %w", id, err)
	}
	if h["call"] == "" {
		return Recording{}, fmt.Errorf("recording %s: %w", id, ErrNotFound)
	}
	return decode(id, h), nil
}

func decode(id string, h map[string]string) Recording {
	d, _ := strconv.ParseInt(h["duration_ms"], 10, 64)
	return Recording{ID: id, CallID: h["call"], TicketID: h["ticket"], Agent: h["agent"], Phone: h["phone"], Queue: h["queue"],
		Node: h["node"], Start: fromMS(h["start"]), DurationS: float64(d) / 1000, File: fileOf(id)}
}

// Filter selects recordings: of a call, ticket, phone or agent, started in
// [Since, Until). Limit bounds the list (100 when 0, at most 1000).
type Filter struct {
	Call, Ticket, Phone, Agent string
	Since, Until               time.Time
	Limit                      int
}

// List returns the newest recordings matching f, newest first.
func (s *Store) List(ctx context.Context, f Filter) ([]Recording, error) {
	if f.Limit <= 0 {
		f.Limit = 100
	}
	f.Limit = min(f.Limit, 1000)
	key := s.allKey()
	switch {
	case f.Call != "":
		key = s.idx("call", f.Call)
	case f.Ticket != "":
		key = s.idx("ticket", f.Ticket)
	case f.Phone != "":
		key = s.idx("phone", f.Phone)
	case f.Agent != "":
		key = s.idx("agent", f.Agent)
	}
	lo, hi := "-inf", "+inf"
	if !f.Since.IsZero() {
		lo = ms(f.Since)
	}
	if !f.Until.IsZero() {
		hi = "(" + ms(f.Until)
	}
	out := []Recording{}
	for offset := int64(0); ; offset += 200 {
		ids, err := s.rdb.ZRevRangeByScore(ctx, key, &redis.ZRangeBy{Min: lo, Max: hi, Offset: offset, Count: 200}).Result()
		if err != nil {
			return nil, fmt.Errorf("recordings: list: %w", err)
		}
		cmds := make([]*redis.MapStringStringCmd, len(ids))
		if _, err := s.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
			for i, id := range ids {
				cmds[i] = p.HGetAll(ctx, s.key(id))
			}
			return nil
		}); err != nil {
			return nil, fmt.Errorf("recordings: list: %w", err)
		}
		for i, c := range cmds {
			h := c.Val()
			if h["call"] == "" {
				continue
			}
			r := decode(ids[i], h)
			if (f.Call == "" || r.CallID == f.Call) && (f.Ticket == "" || r.TicketID == f.Ticket) &&
				(f.Phone == "" || r.Phone == f.Phone) && (f.Agent == "" || r.Agent == f.Agent) {
				out = append(out, r)
				if len(out) == f.Limit {
					return out, nil
				}
			}
		}
		if len(ids) < 200 {
			return out, nil
		}
	}
}

// Open opens a recording's file for reading. The file is opened inside the
// recordings directory only (os.Root): no name can reach beyond it.
func (s *Store) Open(ctx context.Context, id string) (*os.File, Recording, error) {
	r, err := s.Get(ctx, id)
	if err != nil {
		return nil, r, err
	}
	root, err := os.OpenRoot(s.dir)
	if err != nil {
		return nil, r, fmt.Errorf("recordings directory %s: %w", s.dir, err)
	}
	defer root.Close()
	f, err := root.Open(r.File)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, r, fmt.Errorf("recording %s: file %s is not in %s (archived?): %w", id, r.File, s.dir, ErrNotFound)
	}
	if err != nil {
		return nil, r, fmt.Errorf("recording %s: %w", id, err)
	}
	return f, r, nil
}
