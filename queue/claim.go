package queue

import (
	"context"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/hotline95598/hotline/agents"
)

// claim gives an agent to the caller at the head of a queue, if that is us,
// in one atomic step. The agent is the longest idle among the best-skilled
// available agents the caller may have (level 1 only until the queue's
// any-level wait has passed). An agent who also serves other queues goes to
// whichever head caller ranks first (priority, then join time), so a caller
// is never overtaken because they picked another menu branch.
var claim = redis.NewScript(`
local queue, avail, joined, events = KEYS[1], KEYS[2], KEYS[3], KEYS[4]
local me, p, now, ttl, q, maxlvl, iso = ARGV[1], ARGV[2], tonumber(ARGV[3]), ARGV[4], ARGV[5], tonumber(ARGV[6]), ARGV[7]
local function hb(qq, id) return p .. 'queue:' .. qq .. ':hb:' .. id end
-- Our own heartbeat first (ARGV[8], ms): every poll proves we are still
-- here, in the same round trip as the claim.
redis.call('SET', hb(q, me), '1', 'PX', ARGV[8])
while true do
  local head = redis.call('ZRANGE', queue, 0, 0)
  if #head == 0 then return {'gone'} end
  if redis.call('EXISTS', hb(q, head[1])) == 1 then break end
  redis.call('ZREM', queue, head[1]) -- its owner is gone
  redis.call('ZREM', joined, head[1])
end
local rank = redis.call('ZRANK', queue, me)
if not rank then return {'gone'} end
-- The k-th caller in line may take the k-th best free agent at once,
-- leaving the better ones to the callers ahead: nobody waits for the
-- callers ahead to poll first.
if rank >= redis.call('ZCARD', avail) then return {'wait'} end
local myscore = tonumber(redis.call('ZSCORE', queue, me))
local qs, anylvl = {}, {}
for i = 0, tonumber(ARGV[9]) - 1 do
  local name = ARGV[10 + 2 * i]
  qs[#qs + 1] = name
  anylvl[name] = tonumber(ARGV[11 + 2 * i])
end
local function level(agent, qq)
  local skills = p .. 'agent:' .. agent .. ':skills'
  local l = redis.call('HGET', skills, qq)
  if l then return tonumber(l) end
  if redis.call('EXISTS', skills) == 0 then return 1 end -- a generalist
  return nil
end
-- The lowest level (max2) a live caller at the head of another queue q2
-- who ranks before us may be served at, or 0 when there is no such caller.
-- Read once per queue: the heads do not change while the script runs.
local heads = {}
local function ahead(q2)
  if heads[q2] == nil then
    heads[q2] = 0
    local h = redis.call('ZRANGE', p .. 'queue:' .. q2, 0, 0, 'WITHSCORES')
    if #h == 2 and tonumber(h[2]) < myscore and redis.call('EXISTS', hb(q2, h[1])) == 1 then
      heads[q2] = 1
      local j = redis.call('ZSCORE', p .. 'queue:' .. q2 .. ':joined', h[1])
      if j and now - tonumber(j) >= anylvl[q2] then heads[q2] = 99 end
    end
  end
  return heads[q2]
end
-- Does a caller who ranks before us wait at the head of another queue this
-- agent may serve them in?
local function owed(a)
  for _, q2 in ipairs(qs) do
    if q2 ~= q then
      local max2 = ahead(q2)
      if max2 > 0 then
        local l2 = level(a, q2)
        if l2 and l2 <= max2 then return true end
      end
    end
  end
  return false
end
-- Candidates are taken best level first, then longest idle: the first not
-- owed to a caller of another queue and not left for a caller ahead of us
-- is ours. Level 1 is the best there is, so a level-1 agent is decided on
-- the spot, in idle order, and the scan stops at the agent we take: with
-- many agents free it reads a few of them, not all. Lower levels are
-- collected and decided after the scan, in the same order a full sort
-- would give.
local skip = rank
local function take(id, l)
  if owed(id) then
    return false -- left for a caller of another queue who ranks before us
  elseif skip > 0 then
    skip = skip - 1 -- left for a caller ahead of us in this queue
    return false
  end
  redis.call('ZREM', avail, id)
  redis.call('ZREM', queue, me)
  redis.call('HSET', p .. 'agent:' .. id, 'state', 'ringing', 'since', now, 'call_id', me, 'reason', '')
  redis.call('SET', p .. 'agent:' .. id .. ':lease', me, 'PX', ttl)
  redis.call('XADD', events, 'MAXLEN', '~', 10000, '*', 'agent', id, 'type', 'state',
    'data', cjson.encode({id = id, state = 'ringing', reason = '', since = iso, call_id = me}))
  return true
end
local lower, found = {}, false
for i, a in ipairs(redis.call('ZRANGE', avail, 0, 499)) do
  local l = level(a, q)
  if l and l <= maxlvl and redis.call('EXISTS', p .. 'agent:' .. a .. ':busy') == 0 then
    found = true
    if l == 1 then
      if take(a, 1) then return {'claimed', a, '1'} end
    else
      lower[#lower + 1] = {a, l, i}
    end
  end
end
if not found then return {'none'} end
table.sort(lower, function(x, y) if x[2] ~= y[2] then return x[2] < y[2] end return x[3] < y[3] end)
for _, c in ipairs(lower) do
  if take(c[1], c[2]) then return {'claimed', c[1], tostring(c[2])} end
end
return {'owed'}
`)

// AnyLevel is the claim's "any skill level".
const AnyLevel = 99

// Claim returns the agent claimed for the caller, or "" when the caller
// must wait on; gone means the caller is no longer in line (dropped as dead
// after a lapse of its heartbeat) and must join again, same place.
// maxLevel is the lowest skill level the caller may have. The claim renews
// the caller's heartbeat in the same round trip.
func (q *Queue) Claim(ctx context.Context, c Caller, maxLevel int) (agent string, gone bool, err error) {
	now := q.now()
	args := append([]any{c.CallID, q.p, now.UnixMilli(), agents.LeaseTTL.Milliseconds(), c.Queue, maxLevel, isoMillis(now),
		q.HeartbeatTTL().Milliseconds()}, q.queueArgs()...)
	res, err := claim.Run(ctx, q.rdb, []string{q.lineKey(c.Queue), q.reg.AvailKey(), q.joinedKey(c.Queue), q.reg.EventsKey()},
		args...).StringSlice()
	if err != nil {
		return "", false, fmt.Errorf("claim agent: %w", err)
	}
	if len(res) >= 2 && res[0] == "claimed" {
		return res[1], false, nil
	}
	return "", len(res) == 1 && res[0] == "gone", nil
}

// isoMillis formats a time for the agent event stream, as agents does.
func isoMillis(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000Z07:00") }
