package cdr

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"
)

// Changes made to a call's record by people or the call path after the
// fact or before the record is written: a call still in progress has no
// record yet, so these write into the record's hash and Write merges into
// it (a partial record expires with the retention if no Write comes).

// setCountedLua sets a counted field (wrap_up, survey) of a record and,
// when the record is already written, moves its count in the counters of
// the record's interval from the old value to the new one.
//
// KEYS: 1 record. ARGV: 1 field, 2 value, 3 TTL ms of a partial record,
// 4 prefix, 5 interval ms, 6 China offset ms, 7 counters TTL ms, 8 now ms.
var setCountedLua = redis.NewScript(`
local rec, field, value = KEYS[1], ARGV[1], ARGV[2]
local old = redis.call('HGET', rec, field)
redis.call('HSET', rec, field .. '_at', ARGV[8])
if old == value then return 0 end
redis.call('HSET', rec, field, value)
if redis.call('HGET', rec, 'written') ~= '1' then
  if redis.call('PTTL', rec) < 0 then redis.call('PEXPIRE', rec, ARGV[3]) end
  return 1
end
local start = tonumber(redis.call('HGET', rec, 'start'))
local interval, off = tonumber(ARGV[5]), tonumber(ARGV[6])
local key = ARGV[4] .. 'stats:' .. string.format('%.0f', start - ((start + off) % interval))
local dims = {'all'}
local agent, queue = redis.call('HGET', rec, 'agent'), redis.call('HGET', rec, 'queue')
if agent then dims[#dims + 1] = 'a:' .. agent end
if queue then dims[#dims + 1] = 'q:' .. queue end
for _, d in ipairs(dims) do
  if old then redis.call('HINCRBY', key, d .. '|' .. field .. ':' .. old, -1) end
  redis.call('HINCRBY', key, d .. '|' .. field .. ':' .. value, 1)
end
redis.call('PEXPIRE', key, ARGV[7])
return 1
`)

func (s *Store) setCounted(ctx context.Context, callID, field, value string) error {
	if !validID(callID, 128) {
		return fmt.Errorf("%w: call id %q", ErrInvalid, callID)
	}
	now := s.now()
	err := setCountedLua.Run(ctx, s.rdb, []string{s.recKey(callID)}, field, value, s.pol.Retention.Milliseconds(),
		s.p, s.pol.Interval.Milliseconds(), chinaOffset.Milliseconds(), (s.pol.Retention + s.pol.Interval).Milliseconds(),
		now.UnixMilli()).Err()
	if err != nil {
		return fmt.Errorf("cdr: set %s of %s: %w", field, callID, err)
	}
	return nil
}

// SetWrapUp stores the wrap-up code an agent gave a call; the caller
// checks the code against the policy's list. Giving another code replaces
// the first (and its count).
func (s *Store) SetWrapUp(ctx context.Context, callID, code string) error {
	if !validID(code, 32) {
		return fmt.Errorf("%w: wrap-up code %q", ErrInvalid, code)
	}
	return s.setCounted(ctx, callID, "wrap_up", code)
}

// SetSurvey stores the caller's post-call survey answer.
func (s *Store) SetSurvey(ctx context.Context, callID, answer string) error {
	if !ValidSurvey(answer) {
		return fmt.Errorf("%w: survey answer %q (satisfied, fair, dissatisfied or none)", ErrInvalid, answer)
	}
	return s.setCounted(ctx, callID, "survey", answer)
}

// setLua sets plain fields of a record, giving a partial record an expiry.
// KEYS: 1 record. ARGV: 1 TTL ms of a partial record, then field/value pairs.
var setLua = redis.NewScript(`
for i = 2, #ARGV, 2 do redis.call('HSET', KEYS[1], ARGV[i], ARGV[i + 1]) end
if redis.call('PTTL', KEYS[1]) < 0 then redis.call('PEXPIRE', KEYS[1], ARGV[1]) end
return 1
`)

// SetRecording stores the id of the call's recording.
func (s *Store) SetRecording(ctx context.Context, callID, recordingID string) error {
	if !validID(callID, 128) || !validID(recordingID, 128) {
		return fmt.Errorf("%w: call %q recording %q", ErrInvalid, callID, recordingID)
	}
	if err := setLua.Run(ctx, s.rdb, []string{s.recKey(callID)}, s.pol.Retention.Milliseconds(), "recording", recordingID).Err(); err != nil {
		return fmt.Errorf("cdr: recording of %s: %w", callID, err)
	}
	return nil
}

// linkLua adds a work order to a call's record and to the tickets of the
// agent who took it.
//
// KEYS: 1 record. ARGV: 1 ticket, 2 agent ("" = the record's), 3 prefix,
// 4 TTL ms of a partial record, 5 now ms, 6 retention ms.
var linkLua = redis.NewScript(`
local rec, ticket = KEYS[1], ARGV[1]
local list = redis.call('HGET', rec, 'tickets') or ''
local found = false
for t in string.gmatch(list, '[^,]+') do if t == ticket then found = true end end
if not found then
  if list == '' then list = ticket else list = list .. ',' .. ticket end
  redis.call('HSET', rec, 'tickets', list)
end
if redis.call('PTTL', rec) < 0 then redis.call('PEXPIRE', rec, ARGV[4]) end
local agent = ARGV[2]
if agent == '' then agent = redis.call('HGET', rec, 'agent') or '' end
if agent ~= '' then
  local score = tonumber(redis.call('HGET', rec, 'start') or ARGV[5])
  local key = ARGV[3] .. 'cdrs:agent:' .. agent .. ':tickets'
  redis.call('ZADD', key, 'GT', score, ticket)
  redis.call('PEXPIRE', key, ARGV[6])
end
return 1
`)

// Link ties a work order to a call (e.g. one an agent created for the
// caller during or after the call) and to the agent who took the call, so
// the agent may go on working it. agent may be "" once the record names it.
func (s *Store) Link(ctx context.Context, callID, agent, ticketID string) error {
	if !validID(callID, 128) || !validID(ticketID, 32) || (agent != "" && !validID(agent, 32)) {
		return fmt.Errorf("%w: link call %q agent %q ticket %q", ErrInvalid, callID, agent, ticketID)
	}
	err := linkLua.Run(ctx, s.rdb, []string{s.recKey(callID)}, ticketID, agent, s.p,
		s.pol.Retention.Milliseconds(), s.now().UnixMilli(), s.pol.Retention.Milliseconds()).Err()
	if err != nil {
		return fmt.Errorf("cdr: link %s to %s: %w", ticketID, callID, err)
	}
	return nil
}

// chinaOffset: statistics intervals are cut in China time (UTC+8, no
// daylight saving), so a day's intervals start at midnight there.
const chinaOffset = 8 * time.Hour

// Transfer is one transfer of a call: blind to another queue, or attended
// to another agent (who was consulted first).
type Transfer struct {
	At        time.Time `json:"at"`
	Kind      string    `json:"kind"` // blind or attended
	FromAgent string    `json:"from_agent"`
	FromQueue string    `json:"from_queue"`
	ToQueue   string    `json:"to_queue,omitempty"`
	ToAgent   string    `json:"to_agent,omitempty"` // attended`
	By        string    `json:"by,omitempty"`       // who asked (a token's name)
}

// addTransferLua appends a transfer (JSON) to the record's list.
// KEYS: 1 record. ARGV: 1 TTL ms of a partial record, 2 the transfer.
var addTransferLua = redis.NewScript(`
local cur = redis.call('HGET', KEYS[1], 'transfers')
local list = {}
if cur then list = cjson.decode(cur) end
list[#list + 1] = cjson.decode(ARGV[2])
redis.call('HSET', KEYS[1], 'transfers', cjson.encode(list))
if redis.call('PTTL', KEYS[1]) < 0 then redis.call('PEXPIRE', KEYS[1], ARGV[1]) end
return #list
`)

// AddTransfer notes on a call's record that an agent transferred the
// caller from one queue to another.
func (s *Store) AddTransfer(ctx context.Context, callID, fromAgent, fromQueue, toQueue, by string) error {
	if !validID(callID, 128) || (fromAgent != "" && !validID(fromAgent, 32)) || !knownQueue(toQueue) ||
		(fromQueue != "" && !knownQueue(fromQueue)) || len(by) > 128 {
		return fmt.Errorf("%w: transfer of call %q from %q/%q to %q", ErrInvalid, callID, fromAgent, fromQueue, toQueue)
	}
	return s.addTransfer(ctx, callID, Transfer{At: s.now(), Kind: "blind", FromAgent: fromAgent, FromQueue: fromQueue, ToQueue: toQueue, By: by})
}

// AddAttended notes on a call's record that an agent handed the caller to
// a colleague it consulted first (the caller stays in queue).
func (s *Store) AddAttended(ctx context.Context, callID, fromAgent, toAgent, queue, by string) error {
	if !validID(callID, 128) || !validID(fromAgent, 32) || !validID(toAgent, 32) || (queue != "" && !knownQueue(queue)) || len(by) > 128 {
		return fmt.Errorf("%w: attended transfer of call %q from %q to %q", ErrInvalid, callID, fromAgent, toAgent)
	}
	return s.addTransfer(ctx, callID, Transfer{At: s.now(), Kind: "attended", FromAgent: fromAgent, FromQueue: queue, ToAgent: toAgent, By: by})
}

func (s *Store) addTransfer(ctx context.Context, callID string, t Transfer) error {
	raw, err := json.Marshal(t)
	if err != nil {
		return fmt.Errorf("cdr: transfer of %s: %w", callID, err)
	}
	if err := addTransferLua.Run(ctx, s.rdb, []string{s.recKey(callID)}, s.pol.Retention.Milliseconds(), string(raw)).Err(); err != nil {
		return fmt.Errorf("cdr: transfer of %s: %w", callID, err)
	}
	return nil
}

// transfersOf reads a record's transfers field.
func transfersOf(raw string) []Transfer {
	var out []Transfer
	if raw == "" || json.Unmarshal([]byte(raw), &out) != nil {
		return nil
	}
	for i := range out {
		if out[i].Kind == "" { // written before attended transfers
			out[i].Kind = "blind"
		}
	}
	return out
}
