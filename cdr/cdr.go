// Package cdr keeps the hotline's call records: one per call (inbound,
// callback, follow-up), written by the call path when the call ends, with
// the statistics cut from them and from the agents' event stream.
//
// Key layout, with prefix P (default "hotline:"):
//
//	P cdr:<call id>             hash  one record (times as unix ms); see Record
//	P cdrs                      zset  call id, score = start unix ms
//	P cdrs:agent:<id>           zset  the calls an agent took
//	P cdrs:queue:<name>         zset  the calls that waited in a queue
//	P cdrs:phone:<phone>        zset  a customer's calls
//	P cdrs:agent:<id>:tickets   zset  work orders of an agent's calls, score = the call's start
//	P stats:<interval start ms> hash  counters of one statistics interval (stats.go)
//	P stats:agent:<id>          hash  an agent's last state and last call, kept by the fold (fold.go)
//
// A record and its index entries and counters are written by one Lua
// script, so nobody sees one without the other and a record written twice
// is counted once. Entries older than the policy's retention are trimmed on
// every write and the record itself expires. With Redis Cluster give the
// prefix a hash tag ("{hotline}:").
package cdr

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/hotline95598/hotline/accounts"
	"github.com/hotline95598/hotline/internal/china"
	"github.com/hotline95598/hotline/policy"
)

var (
	// ErrInvalid: a record or request failed validation.
	ErrInvalid = errors.New("cdr: invalid")
	// ErrNotFound: no record of that call.
	ErrNotFound = errors.New("cdr: not found")
)

// Kinds of call.
const (
	KindInbound  = "inbound"   // a customer dialled 95598
	KindCallback = "callback"  // we called a customer back (abandoned, virtual hold, scheduled, ...)
	KindFollowUp = "follow_up" // 回访 of a resolved work order
)

// Survey answers (post-call satisfaction: 1 satisfied, 2 fair, 3
// dissatisfied); SurveyNone: asked, and no valid key came. A call never
// asked has no survey ("").
const (
	SurveySatisfied    = "satisfied"
	SurveyFair         = "fair"
	SurveyDissatisfied = "dissatisfied"
	SurveyNone         = "none"
)

// ValidSurvey reports whether s is a survey answer ("" is not one).
func ValidSurvey(s string) bool {
	return s == SurveySatisfied || s == SurveyFair || s == SurveyDissatisfied || s == SurveyNone
}

// Record is one call.
type Record struct {
	CallID string `json:"call_id"`
	Kind   string `json:"kind"`  // KindInbound, KindCallback, KindFollowUp
	Phone  string `json:"phone"` // the customer's number, normalised ("anonymous" when withheld)
	// Times of the call. Start: the call reached the controller (for
	// callbacks: dialled); Answer: the controller answered it (for
	// callbacks: the customer did); QueueJoin: it joined an agent queue;
	// AgentAnswer: an agent picked up; End: it ended.
	Start       time.Time `json:"start"`
	Answer      time.Time `json:"answer,omitzero"`
	QueueJoin   time.Time `json:"queue_join,omitzero"`
	AgentAnswer time.Time `json:"agent_answer,omitzero"`
	End         time.Time `json:"end"`
	MenuPath    string    `json:"menu_path,omitempty"` // keys pressed, e.g. "2>1"
	Queue       string    `json:"queue,omitempty"`     // the last queue it waited in
	Agent       string    `json:"agent,omitempty"`     // who answered it
	// Outcome is how the call ended for the hotline (metrics.End*:
	// self_service, agent, abandoned, hangup_menu, kept_place, ...);
	// EndReason who or what ended it (caller_hangup, agent_hangup, cut_off, ...).
	Outcome   string `json:"outcome"`
	EndReason string `json:"end_reason,omitempty"`
	// TicketID is the work order the call produced or was about; Tickets
	// every work order linked to the call, that one included (an agent
	// may create more during the call).
	TicketID    string   `json:"ticket_id,omitempty"`
	Tickets     []string `json:"tickets,omitempty"`
	CallbackID  string   `json:"callback_id,omitempty"`
	RecordingID string   `json:"recording_id,omitempty"`
	Survey      string   `json:"survey,omitempty"`       // Survey*
	WrapUpCode  string   `json:"wrap_up_code,omitempty"` // from the policy's wrap_up_codes
	Replica     string   `json:"replica,omitempty"`      // the controller replica that owned it
	Node        string   `json:"node,omitempty"`         // the Asterisk node it came through

	Transfers []Transfer `json:"transfers,omitempty"` // blind transfers to other queues, in order
}

// Talk is how long the customer talked to an agent.
func (r Record) Talk() time.Duration {
	if r.AgentAnswer.IsZero() || r.End.Before(r.AgentAnswer) {
		return 0
	}
	return r.End.Sub(r.AgentAnswer)
}

// Wait is how long the customer waited in the queue (to the agent's
// answer, or to the end of the call when nobody answered).
func (r Record) Wait() time.Duration {
	if r.QueueJoin.IsZero() {
		return 0
	}
	end := r.AgentAnswer
	if end.IsZero() {
		end = r.End
	}
	if end.Before(r.QueueJoin) {
		return 0
	}
	return end.Sub(r.QueueJoin)
}

// Store reads and writes call records in Redis.
type Store struct {
	rdb redis.UniversalClient
	p   string
	pol policy.Records
	now func() time.Time
	sl  time.Duration // the service level's mark (SetServiceLevel)
}

// SetServiceLevel sets the wait within which an answered caller counts
// toward the service level (the policy's service_level.within); call it
// before the store is used.
func (s *Store) SetServiceLevel(sl policy.ServiceLevel) { s.sl = sl.Within }

// New returns a store under prefix with the policy's retention and
// statistics interval; now is the clock (time.Now when nil).
func New(rdb redis.UniversalClient, prefix string, pol policy.Records, now func() time.Time) *Store {
	if now == nil {
		now = time.Now
	}
	if prefix == "" {
		prefix = "hotline:"
	}
	if pol.Retention <= 0 || pol.Interval <= 0 {
		pol = policy.Default().Records()
	}
	return &Store{rdb: rdb, p: prefix, pol: pol, now: now, sl: policy.Default().ServiceLevel().Within}
}

func (s *Store) recKey(id string) string          { return s.p + "cdr:" + id }
func (s *Store) allKey() string                   { return s.p + "cdrs" }
func (s *Store) agentKey(id string) string        { return s.p + "cdrs:agent:" + id }
func (s *Store) queueKey(q string) string         { return s.p + "cdrs:queue:" + q }
func (s *Store) phoneKey(p string) string         { return s.p + "cdrs:phone:" + p }
func (s *Store) agentTicketsKey(id string) string { return s.p + "cdrs:agent:" + id + ":tickets" }

// Writer is what the call path needs: one Write at the end of every call.
type Writer interface {
	Write(ctx context.Context, r Record) error
}

// maxSkew is how far a time of the record may lie outside [Start, End]:
// the times come from more than one replica's clock.
const maxSkew = 5 * time.Second

func validID(s string, max int) bool {
	if s == "" || len(s) > max {
		return false
	}
	for _, r := range s {
		if !(r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || strings.ContainsRune("-_.:", r)) {
			return false
		}
	}
	return true
}

func knownQueue(q string) bool {
	for _, n := range policy.QueueNames {
		if n == q {
			return true
		}
	}
	return false
}

// check validates and normalises a record.
func (s *Store) check(r *Record) error {
	bad := func(format string, a ...any) error {
		return fmt.Errorf("%w: call %s: %s", ErrInvalid, r.CallID, fmt.Sprintf(format, a...))
	}
	if !validID(r.CallID, 128) {
		return fmt.Errorf("%w: call id %q", ErrInvalid, r.CallID)
	}
	switch r.Kind {
	case KindInbound, KindCallback, KindFollowUp:
	default:
		return bad("unknown kind %q (inbound, callback or follow_up)", r.Kind)
	}
	if r.Start.IsZero() || r.End.IsZero() || r.End.Before(r.Start) {
		return bad("start %s and end %s: a record needs both, end not before start", r.Start, r.End)
	}
	if s.now().Sub(r.Start) >= s.pol.Retention {
		return bad("started %s, longer ago than the retention of %s", r.Start.Format(time.RFC3339), s.pol.Retention)
	}
	for name, t := range map[string]time.Time{"answer": r.Answer, "queue_join": r.QueueJoin, "agent_answer": r.AgentAnswer} {
		if !t.IsZero() && (t.Before(r.Start.Add(-maxSkew)) || t.After(r.End.Add(maxSkew))) {
			return bad("%s %s is outside the call (%s to %s)", name, t.Format(time.RFC3339Nano), r.Start.Format(time.RFC3339Nano), r.End.Format(time.RFC3339Nano))
		}
	}
	if r.Phone != "" && r.Phone != "anonymous" {
		r.Phone = accounts.NormalizePhone(r.Phone)
		if !accounts.ValidPhone(r.Phone) {
			return bad("phone is not a phone number")
		}
	}
	if r.Queue != "" && !knownQueue(r.Queue) {
		return bad("unknown queue %q", r.Queue)
	}
	if r.Agent != "" && !validID(r.Agent, 32) {
		return bad("agent id %q", r.Agent)
	}
	if !validID(r.Outcome, 32) {
		return bad("outcome %q: one word such as agent or abandoned", r.Outcome)
	}
	if r.EndReason != "" && !validID(r.EndReason, 32) {
		return bad("end reason %q", r.EndReason)
	}
	if r.Survey != "" && !ValidSurvey(r.Survey) {
		return bad("survey %q (satisfied, fair, dissatisfied or none)", r.Survey)
	}
	for _, t := range append([]string{r.TicketID}, r.Tickets...) {
		if t != "" && !validID(t, 32) {
			return bad("ticket id %q", t)
		}
	}
	for _, v := range []string{r.CallbackID, r.RecordingID, r.WrapUpCode, r.Replica, r.Node} {
		if v != "" && !validID(v, 128) {
			return bad("%q is not an id", v)
		}
	}
	if len(r.MenuPath) > 256 {
		return bad("menu path longer than 256 characters")
	}
	return nil
}

func ms(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return strconv.FormatInt(t.UnixMilli(), 10)
}

func fromMS(s string) time.Time {
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n == 0 {
		return time.Time{}
	}
	return time.UnixMilli(n).In(china.Zone)
}

// fields are the hash fields a record writes; empty ones are left out so
// a write never erases what was set on the call before (a wrap-up code
// given while the caller was still on the line, a linked work order).
func (r Record) fields() []any {
	all := []string{"kind", r.Kind, "phone", r.Phone, "start", ms(r.Start), "answer", ms(r.Answer),
		"queue_join", ms(r.QueueJoin), "agent_answer", ms(r.AgentAnswer), "end", ms(r.End),
		"menu_path", r.MenuPath, "queue", r.Queue, "agent", r.Agent, "outcome", r.Outcome, "end_reason", r.EndReason,
		"ticket", r.TicketID, "callback", r.CallbackID, "recording", r.RecordingID, "survey", r.Survey,
		"wrap_up", r.WrapUpCode, "replica", r.Replica, "node", r.Node}
	var out []any
	for i := 0; i < len(all); i += 2 {
		if all[i+1] != "" {
			out = append(out, all[i], all[i+1])
		}
	}
	return out
}

func decode(id string, h map[string]string) Record {
	r := Record{CallID: id, Kind: h["kind"], Phone: h["phone"], Start: fromMS(h["start"]), Answer: fromMS(h["answer"]),
		QueueJoin: fromMS(h["queue_join"]), AgentAnswer: fromMS(h["agent_answer"]), End: fromMS(h["end"]),
		MenuPath: h["menu_path"], Queue: h["queue"], Agent: h["agent"], Outcome: h["outcome"], EndReason: h["end_reason"],
		TicketID: h["ticket"], CallbackID: h["callback"], RecordingID: h["recording"], Survey: h["survey"],
		WrapUpCode: h["wrap_up"], Replica: h["replica"], Node: h["node"]}
	if t := h["tickets"]; t != "" {
		r.Tickets = strings.Split(t, ",")
	}
	r.Transfers = transfersOf(h["transfers"])
	return r
}

// writeLua stores a record, its index entries and (the first time only)
// its counters in one step.
//
// KEYS: 1 record, 2 all, 3 agent index, 4 queue index, 5 phone index,
// 6 the agent's tickets, 7 the interval's counters ("" = not used).
// ARGV: 1 call id, 2 start ms, 3 cut-off ms (older entries are trimmed),
// 4 record TTL ms, 5 ticket ids (comma list), 6 counters TTL ms,
// 7 agent, 8 queue, then counter field/increment pairs up to the marker
// "--", then the record's field/value pairs.
var writeLua = redis.NewScript(`
local rec = KEYS[1]
local first = redis.call('HGET', rec, 'written') ~= '1'
local i = 9
local counters = {}
while ARGV[i] ~= '--' do counters[#counters + 1] = {ARGV[i], ARGV[i + 1]}; i = i + 2 end
i = i + 1
while i <= #ARGV do redis.call('HSET', rec, ARGV[i], ARGV[i + 1]); i = i + 2 end
local seen, list = {}, {}
for t in string.gmatch((redis.call('HGET', rec, 'tickets') or '') .. ',' .. ARGV[5] .. ',' .. (redis.call('HGET', rec, 'ticket') or ''), '[^,]+') do
  if not seen[t] then seen[t] = true; list[#list + 1] = t end
end
if #list > 0 then redis.call('HSET', rec, 'tickets', table.concat(list, ',')) end
redis.call('HSET', rec, 'written', '1')
redis.call('PEXPIRE', rec, ARGV[4])
for k = 2, 5 do
  if KEYS[k] ~= '' then
    redis.call('ZADD', KEYS[k], ARGV[2], ARGV[1])
    redis.call('ZREMRANGEBYSCORE', KEYS[k], '-inf', '(' .. ARGV[3])
    if k > 2 then redis.call('PEXPIRE', KEYS[k], ARGV[4]) end
  end
end
if KEYS[6] ~= '' and #list > 0 then
  for _, t in ipairs(list) do redis.call('ZADD', KEYS[6], 'GT', ARGV[2], t) end
  redis.call('ZREMRANGEBYSCORE', KEYS[6], '-inf', '(' .. ARGV[3])
  redis.call('PEXPIRE', KEYS[6], ARGV[4])
end
if first and KEYS[7] ~= '' then
  for _, c in ipairs(counters) do redis.call('HINCRBY', KEYS[7], c[1], c[2]) end
  -- codes given on the call before its record was written count now
  for _, f in ipairs({'wrap_up', 'survey'}) do
    local v = redis.call('HGET', rec, f)
    if v then
      local name = f .. ':' .. v
      redis.call('HINCRBY', KEYS[7], 'all|' .. name, 1)
      if ARGV[7] ~= '' then redis.call('HINCRBY', KEYS[7], 'a:' .. ARGV[7] .. '|' .. name, 1) end
      if ARGV[8] ~= '' then redis.call('HINCRBY', KEYS[7], 'q:' .. ARGV[8] .. '|' .. name, 1) end
    end
  end
  redis.call('PEXPIRE', KEYS[7], ARGV[6])
end
if first then return 1 end
return 0
`)

// Write stores the record of a call that ended. Writing the same call
// again updates its fields but counts it once; fields set earlier on the
// call (SetWrapUp, Link, SetSurvey, SetRecording) are kept.
func (s *Store) Write(ctx context.Context, r Record) error {
	if err := s.check(&r); err != nil {
		return err
	}
	now := s.now()
	ttl := r.Start.Add(s.pol.Retention).Sub(now)
	agentIdx, queueIdx, phoneIdx, agentTickets := "", "", "", ""
	if r.Agent != "" {
		agentIdx, agentTickets = s.agentKey(r.Agent), s.agentTicketsKey(r.Agent)
	}
	if r.Queue != "" {
		queueIdx = s.queueKey(r.Queue)
	}
	if r.Phone != "" && r.Phone != "anonymous" {
		phoneIdx = s.phoneKey(r.Phone)
	}
	keys := []string{s.recKey(r.CallID), s.allKey(), agentIdx, queueIdx, phoneIdx, agentTickets, s.statsKey(s.bucket(r.Start))}
	args := []any{r.CallID, r.Start.UnixMilli(), now.Add(-s.pol.Retention).UnixMilli(), ttl.Milliseconds(),
		strings.Join(r.Tickets, ","), ttl.Milliseconds() + s.pol.Interval.Milliseconds(), r.Agent, r.Queue}
	for _, c := range counters(r, s.sl) {
		args = append(args, c.field, c.n)
	}
	args = append(args, "--")
	args = append(args, r.fields()...)
	if err := writeLua.Run(ctx, s.rdb, keys, args...).Err(); err != nil {
		return fmt.Errorf("cdr: write %s: %w", r.CallID, err)
	}
	return nil
}

// Get returns the record of one call.
func (s *Store) Get(ctx context.Context, callID string) (Record, error) {
	if !validID(callID, 128) {
		return Record{}, fmt.Errorf("call %q: %w", callID, ErrNotFound)
	}
	h, err := s.rdb.HGetAll(ctx, s.recKey(callID)).Result()
	if err != nil {
		return Record{}, fmt.Errorf("cdr: get %s: %w", callID, err)
	}
	if h["written"] != "1" {
		return Record{}, fmt.Errorf("call %s: %w", callID, ErrNotFound)
	}
	return decode(callID, h), nil
}

// Filter selects records: started in [Since, Until) (zero: open), of an
// agent, queue or phone. Limit bounds List (DefaultLimit when 0).
type Filter struct {
	Since, Until        time.Time
	Agent, Queue, Phone string
	Limit               int
}

// List limits.
const (
	DefaultLimit = 100
	MaxLimit     = 1000
)

// index picks the most selective index of the filter.
func (s *Store) index(f Filter) string {
	switch {
	case f.Phone != "":
		return s.phoneKey(f.Phone)
	case f.Agent != "":
		return s.agentKey(f.Agent)
	case f.Queue != "":
		return s.queueKey(f.Queue)
	}
	return s.allKey()
}

func (f Filter) match(r Record) bool {
	return (f.Agent == "" || r.Agent == f.Agent) && (f.Queue == "" || r.Queue == f.Queue) && (f.Phone == "" || r.Phone == f.Phone)
}

func (f Filter) bounds() (min, max string) {
	min, max = "-inf", "+inf"
	if !f.Since.IsZero() {
		min = strconv.FormatInt(f.Since.UnixMilli(), 10)
	}
	if !f.Until.IsZero() {
		max = "(" + strconv.FormatInt(f.Until.UnixMilli(), 10)
	}
	return min, max
}

// List returns the newest records matching f, newest first.
func (s *Store) List(ctx context.Context, f Filter) ([]Record, error) {
	if f.Limit <= 0 {
		f.Limit = DefaultLimit
	}
	f.Limit = min(f.Limit, MaxLimit)
	min, max := f.bounds()
	out := []Record{}
	for offset := int64(0); ; {
		ids, err := s.rdb.ZRevRangeByScore(ctx, s.index(f), &redis.ZRangeBy{Min: min, Max: max, Offset: offset, Count: 200}).Result()
		if err != nil {
			return nil, fmt.Errorf("cdr: list: %w", err)
		}
		recs, err := s.load(ctx, ids)
		if err != nil {
			return nil, err
		}
		for _, r := range recs {
			if f.match(r) {
				out = append(out, r)
				if len(out) == f.Limit {
					return out, nil
				}
			}
		}
		if len(ids) < 200 {
			return out, nil
		}
		offset += int64(len(ids))
	}
}

// Each calls fn for every record matching f, oldest first, reading in
// pages: for exports of any size. Limit is ignored.
func (s *Store) Each(ctx context.Context, f Filter, fn func(Record) error) error {
	min, max := f.bounds()
	for {
		zs, err := s.rdb.ZRangeByScoreWithScores(ctx, s.index(f), &redis.ZRangeBy{Min: min, Max: max, Count: 500}).Result()
		if err != nil {
			return fmt.Errorf("cdr: export: %w", err)
		}
		ids := make([]string, len(zs))
		for i, z := range zs {
			ids[i] = z.Member.(string)
		}
		recs, err := s.load(ctx, ids)
		if err != nil {
			return err
		}
		for _, r := range recs {
			if f.match(r) {
				if err := fn(r); err != nil {
					return err
				}
			}
		}
		if len(zs) < 500 {
			return nil
		}
		// Several calls may share the last millisecond: go on from it and
		// skip the ids already seen there.
		last := zs[len(zs)-1].Score
		seen := map[string]bool{}
		for _, z := range zs {
			if z.Score == last {
				seen[z.Member.(string)] = true
			}
		}
		min = strconv.FormatFloat(last, 'f', 0, 64)
		more, err := s.rdb.ZRangeByScore(ctx, s.index(f), &redis.ZRangeBy{Min: min, Max: min}).Result()
		if err != nil {
			return fmt.Errorf("cdr: export: %w", err)
		}
		var rest []string
		for _, id := range more {
			if !seen[id] {
				rest = append(rest, id)
			}
		}
		recs, err = s.load(ctx, rest)
		if err != nil {
			return err
		}
		for _, r := range recs {
			if f.match(r) {
				if err := fn(r); err != nil {
					return err
				}
			}
		}
		min = "(" + min
	}
}

// load reads records by id, skipping those that expired meanwhile.
func (s *Store) load(ctx context.Context, ids []string) ([]Record, error) {
	if len(ids) == 0 {
		return nil, nil
	}
	cmds := make([]*redis.MapStringStringCmd, len(ids))
	_, err := s.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		for i, id := range ids {
			cmds[i] = p.HGetAll(ctx, s.recKey(id))
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("cdr: load: %w", err)
	}
	out := make([]Record, 0, len(ids))
	for i, c := range cmds {
		if h := c.Val(); h["written"] == "1" {
			out = append(out, decode(ids[i], h))
		}
	}
	return out, nil
}

// Latest returns an agent's newest record, ok=false when it has none.
func (s *Store) Latest(ctx context.Context, agent string) (Record, bool, error) {
	ids, err := s.rdb.ZRevRange(ctx, s.agentKey(agent), 0, 0).Result()
	if err != nil {
		return Record{}, false, fmt.Errorf("cdr: latest of %s: %w", agent, err)
	}
	recs, err := s.load(ctx, ids)
	if err != nil || len(recs) == 0 {
		return Record{}, false, err
	}
	return recs[0], true, nil
}

// AgentHasTicket reports whether a work order belongs to one of the
// agent's calls still on record (its record's work order, or one linked
// to the call).
func (s *Store) AgentHasTicket(ctx context.Context, agent, ticketID string) (bool, error) {
	_, err := s.rdb.ZScore(ctx, s.agentTicketsKey(agent), ticketID).Result()
	if errors.Is(err, redis.Nil) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("cdr: tickets of %s: %w", agent, err)
	}
	return true, nil
}

// sortedKeys returns m's keys in order.
func sortedKeys[V any](m map[string]V) []string {
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return ks
}
