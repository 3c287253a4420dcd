package callflow

import (
	"context"
	"time"

	"github.com/hotline95598/hotline/accounts"
	"github.com/hotline95598/hotline/cdr"
	"github.com/hotline95598/hotline/hold"
	"github.com/hotline95598/hotline/metrics"
)

// CallRecords keeps one record per call (package cdr): the flow writes it
// when the call ends.
type CallRecords interface {
	Write(ctx context.Context, r cdr.Record) error
}

// SetRecords gives the flow the store of call records; replica names this
// controller in them. Without one no records are written.
func (f *Flow) SetRecords(r CallRecords, replica string) { f.records, f.replica = r, replica }

// Who or what ended a call (cdr.Record.EndReason).
const (
	EndByCaller  = "caller_hangup"  // the customer hung up
	EndByAgent   = "agent_hangup"   // the agent hung up first; we then ended the call
	EndByHotline = "hotline_hangup" // the hotline ended it (goodbye after self-service, a callback promised, an error)
	EndByCutOff  = "cut_off"        // Asterisk cut it off (stopped or lost the channel)
)

// recordWrite bounds the write of a record: the call is over, its
// goroutine should not hang on a slow Redis.
const recordWrite = 5 * time.Second

// queued notes that the caller starts waiting for an agent now (the first
// time in this call: a callback's earlier place is not this call's).
func (c *call) joinedQueue() {
	if c.queueJoin.IsZero() {
		c.queueJoin = c.f.cfg.Now()
	}
}

// waited notes how the caller's wait for an agent ended.
func (c *call) waited(res hold.Result) {
	c.queueName = res.Queue
	if res.Outcome == hold.Connected {
		c.agent, c.agentAnswer, c.agentHungUp = res.Agent, res.Answered, res.AgentHungUp
	}
}

// endedBy says who or what ended the call; called before the hotline
// hangs it up.
func (c *call) endedBy(ctx context.Context) string {
	switch {
	case c.end == metrics.EndCutOff || cutOff(ctx, c):
		return EndByCutOff
	case c.agentHungUp:
		return EndByAgent
	case c.sess.HungUp():
		return EndByCaller
	}
	return EndByHotline
}

// record is the call's record as it ends.
func (c *call) record(end time.Time) cdr.Record {
	phone := c.phone
	if phone != "" && phone != "anonymous" && !accounts.ValidPhone(accounts.NormalizePhone(phone)) {
		phone = "" // not a number we could call back: the record is kept without it
	}
	path := c.menuPath()
	if len(path) > 256 {
		path = path[:256]
	}
	ticket := c.ticket
	if ticket == "" {
		ticket = c.open
	}
	return cdr.Record{CallID: c.id, Kind: c.kind, Phone: phone, Start: c.started, Answer: c.answered,
		QueueJoin: c.queueJoin, AgentAnswer: c.agentAnswer, End: end, MenuPath: path, Queue: c.queueName,
		Agent: c.agent, Outcome: c.end, EndReason: c.endReason, TicketID: ticket, CallbackID: c.callbackID,
		Survey: c.survey, Replica: c.f.replica}
}

// writeRecord writes the call's record. A failure is logged and counted;
// the call has ended either way.
func (c *call) writeRecord(ctx context.Context) {
	f := c.f
	if f.records == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), recordWrite)
	defer cancel()
	r := c.record(f.cfg.Now())
	if err := f.records.Write(ctx, r); err != nil {
		f.m.RedisErrors.WithLabelValues("cdr_write").Inc()
		c.log.Error().Err(err).Msg("write the call record")
	}
}
