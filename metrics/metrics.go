// Package metrics is the controller's one set of Prometheus metrics, built
// from an injected Registerer so tests get their own registry.
package metrics

import "github.com/prometheus/client_golang/prometheus"

// End reasons of a customer call: a fixed set, so they can be a label.
const (
	EndSelfService = "self_service" // served by the IVR and hung up after
	EndAgent       = "agent"        // talked to an agent
	EndAbandoned   = "abandoned"    // hung up while waiting for an agent
	EndHangupMenu  = "hangup_menu"  // hung up in the menu
	EndError       = "error"        // we failed the call
	EndShutdown    = "shutdown"     // controller stopped
	EndOrphaned    = "orphaned"     // found in Stasis with no owner after a restart
	EndKeptPlace   = "kept_place"   // took a callback that keeps their place in the queue
	EndOverflow    = "overflow"     // waited the queue's longest wait; a callback keeps their place
	EndCutOff      = "cut_off"      // Asterisk ended the call (it stopped or lost it), not the caller
)

// Metrics holds every metric of the controller.
type Metrics struct {
	CallsStarted     prometheus.Counter
	CallsEnded       *prometheus.CounterVec // reason
	CallsActive      prometheus.Gauge
	QueueOffered     *prometheus.CounterVec // queue
	QueueAnswered    *prometheus.CounterVec // queue
	QueueAbandoned   *prometheus.CounterVec // queue
	QueueWaiting     *prometheus.GaugeVec   // queue
	QueueWaitSeconds *prometheus.HistogramVec
	QueueLongestWait *prometheus.GaugeVec     // queue, from Redis
	QueueTalkSeconds *prometheus.HistogramVec // queue: handle time of answered calls
	// QueueOverflows: callers moved on after the queue's longest wait, by
	// queue and where to (another queue or "callback").
	QueueOverflows      *prometheus.CounterVec
	QueueTransfers      *prometheus.CounterVec   // queue, to: callers an agent transferred to another queue (blind)
	AgentTransfers      *prometheus.CounterVec   // queue, outcome: consultations of a colleague (attended transfers) and how they ended
	QueueEstimatedWait  *prometheus.GaugeVec     // queue: the last estimate announced
	QueueCallbackOffers *prometheus.CounterVec   // queue, result: offered/accepted
	AgentsPaused        *prometheus.GaugeVec     // reason, from Redis
	CallbacksOverdue    prometheus.Gauge         // pending past their deadline, from Redis
	CallbacksDue        prometheus.Gauge         // due now but not yet dialled, from Redis
	CallbacksOnTime     *prometheus.CounterVec   // kind, on_time: first attempts inside the window or not
	RedisSeconds        *prometheus.HistogramVec // command: latency of Redis commands
	AgentRingNoAnswer   prometheus.Counter
	AgentsByState       *prometheus.GaugeVec   // state
	TicketsCreated      *prometheus.CounterVec // type
	CallbacksSched      prometheus.Counter
	CallbacksDeduped    prometheus.Counter
	CallbacksPlaced     *prometheus.CounterVec // kind, outcome: dialled, answered, no_answer, busy, rejected, unreachable, failed
	CallbacksFinal      *prometheus.CounterVec // status: completed, failed, expired
	CallbacksPending    prometheus.Gauge
	RedisErrors         *prometheus.CounterVec // op
	CallRecordings      *prometheus.CounterVec // result: started, failed (calls bridged to an agent)

	TicketsOpen      *prometheus.GaugeVec   // type, grade, deadline (ok, due_soon, overdue), from Redis
	TicketsOverdue   prometheus.Gauge       // open past their answer deadline
	TicketsDueSoon   prometheus.Gauge       // open, due within the horizon
	TicketsEscalated *prometheus.CounterVec // level reached
	FollowUps        *prometheus.CounterVec // outcome: satisfied, unsatisfied, no_answer
	// SurveyAnswers: post-call survey answers by queue, agent and answer
	// (satisfied, fair, dissatisfied, none). Agents are the configured
	// pool (HOTLINE_SIP_AGENTS), queues the policy's: the labels are bounded.
	SurveyAnswers *prometheus.CounterVec
	RepeatCalls   prometheus.Counter     // calls from customers with an open ticket
	Urges         prometheus.Counter     // 催办 pressed by callers
	OutageNotices prometheus.Counter     // callers told of an outage before the menu
	NoticesPlayed *prometheus.CounterVec // kind: timed notices started before the menu

	// Work-order governance (workorders watcher).
	DeadlinesMissed  *prometheus.CounterVec // kind: deadlines the watcher found missed and acted on
	DeadlinesOverdue *prometheus.GaugeVec   // kind: active deadlines past due now, from Redis
	OutagesActive    *prometheus.GaugeVec   // kind: active outages, from Redis
	OutagesOverrun   prometheus.Gauge       // active outages past their restore time and the grace, from Redis
	OutagesUnconfirm prometheus.Gauge       // outages declared by the hotline and not yet confirmed, from Redis
	OutagesAuto      prometheus.Counter     // outages declared by the hotline from piled-up fault reports
	OutageRepeats    *prometheus.GaugeVec   // level: lines and transformers flagged for repeated outages
	OutageRepeatTop  *prometheus.GaugeVec   // place, name, level: outages in the window, the most flagged only
	HotSpots         *prometheus.GaugeVec   // dimension, key: complaints in the moving window of each hot spot, the top only
}

// New registers the metrics with reg.
func New(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		CallsStarted:     prometheus.NewCounter(prometheus.CounterOpts{Name: "hotline_calls_started_total", Help: "Customer calls that entered the controller."}),
		CallsEnded:       prometheus.NewCounterVec(prometheus.CounterOpts{Name: "hotline_calls_ended_total", Help: "Customer calls ended, by reason."}, []string{"reason"}),
		CallsActive:      prometheus.NewGauge(prometheus.GaugeOpts{Name: "hotline_calls_active", Help: "Customer calls in progress on this replica."}),
		QueueOffered:     prometheus.NewCounterVec(prometheus.CounterOpts{Name: "hotline_queue_calls_offered_total", Help: "Callers who joined a queue."}, []string{"queue"}),
		QueueAnswered:    prometheus.NewCounterVec(prometheus.CounterOpts{Name: "hotline_queue_calls_answered_total", Help: "Queued callers connected to an agent."}, []string{"queue"}),
		QueueAbandoned:   prometheus.NewCounterVec(prometheus.CounterOpts{Name: "hotline_queue_calls_abandoned_total", Help: "Queued callers who hung up before an agent answered."}, []string{"queue"}),
		QueueWaiting:     prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "hotline_queue_callers_waiting", Help: "Callers waiting now, from Redis (the whole hotline, not one replica)."}, []string{"queue"}),
		QueueLongestWait: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "hotline_queue_longest_wait_seconds", Help: "How long the longest-waiting caller has waited, from Redis."}, []string{"queue"}),
		QueueTalkSeconds: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "hotline_queue_talk_seconds", Help: "Talk time of calls answered by agents (handle time without wrap-up).",
			Buckets: []float64{30, 60, 120, 180, 300, 600, 900, 1800}}, []string{"queue"}),
		AgentsPaused:     prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "hotline_agents_paused", Help: "Paused agents by reason, from Redis."}, []string{"reason"}),
		CallbacksOverdue: prometheus.NewGauge(prometheus.GaugeOpts{Name: "hotline_callbacks_overdue", Help: "Callbacks not yet placed whose window has closed, from Redis."}),
		CallbacksDue:     prometheus.NewGauge(prometheus.GaugeOpts{Name: "hotline_callbacks_due", Help: "Callbacks due now that no line has taken yet, from Redis."}),
		CallbacksOnTime:  prometheus.NewCounterVec(prometheus.CounterOpts{Name: "hotline_callbacks_first_attempts_total", Help: "First attempts of callbacks, by kind and whether they were placed inside the window."}, []string{"kind", "on_time"}),
		RedisSeconds: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "hotline_redis_command_seconds", Help: "Latency of Redis commands and pipelines.",
			Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, 1}}, []string{"command"}),
		QueueWaitSeconds: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "hotline_queue_wait_seconds", Help: "Time from joining the queue to an agent answering or the caller leaving.",
			Buckets: []float64{5, 10, 20, 30, 60, 120, 300, 600}}, []string{"queue", "outcome"}),
		AgentRingNoAnswer: prometheus.NewCounter(prometheus.CounterOpts{Name: "hotline_agent_ring_no_answer_total", Help: "Agents rung who did not answer in time."}),
		AgentsByState:     prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "hotline_agents", Help: "Agents by state, from Redis."}, []string{"state"}),
		TicketsCreated:    prometheus.NewCounterVec(prometheus.CounterOpts{Name: "hotline_tickets_created_total", Help: "Work orders created, by type."}, []string{"type"}),
		CallbacksSched:    prometheus.NewCounter(prometheus.CounterOpts{Name: "hotline_callbacks_scheduled_total", Help: "Callbacks scheduled."}),
		CallbacksDeduped:  prometheus.NewCounter(prometheus.CounterOpts{Name: "hotline_callbacks_deduplicated_total", Help: "Callback requests merged into one already pending for the number."}),
		CallbacksPlaced:   prometheus.NewCounterVec(prometheus.CounterOpts{Name: "hotline_callbacks_placed_total", Help: "Callback attempts, by kind and outcome."}, []string{"kind", "outcome"}),
		CallbacksFinal:    prometheus.NewCounterVec(prometheus.CounterOpts{Name: "hotline_callbacks_finished_total", Help: "Callbacks finished, by final status."}, []string{"status"}),
		CallbacksPending:  prometheus.NewGauge(prometheus.GaugeOpts{Name: "hotline_callbacks_pending", Help: "Callbacks waiting to be placed, from Redis."}),
		RedisErrors:       prometheus.NewCounterVec(prometheus.CounterOpts{Name: "hotline_redis_errors_total", Help: "Redis operations that failed."}, []string{"op"}),
		TicketsOpen:       prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "hotline_tickets_open", Help: "Open work orders by type, grade and deadline state (ok, due_soon, overdue), from Redis."}, []string{"type", "grade", "deadline"}),
		TicketsOverdue:    prometheus.NewGauge(prometheus.GaugeOpts{Name: "hotline_tickets_overdue", Help: "Open work orders past their deadline."}),
		TicketsDueSoon:    prometheus.NewGauge(prometheus.GaugeOpts{Name: "hotline_tickets_due_soon", Help: "Open work orders due within the next hour."}),
		TicketsEscalated:  prometheus.NewCounterVec(prometheus.CounterOpts{Name: "hotline_tickets_escalated_total", Help: "Escalations, by the ladder level reached."}, []string{"level"}),
		FollowUps:         prometheus.NewCounterVec(prometheus.CounterOpts{Name: "hotline_followups_total", Help: "Follow-up calls by outcome."}, []string{"outcome"}),
		RepeatCalls:       prometheus.NewCounter(prometheus.CounterOpts{Name: "hotline_repeat_calls_total", Help: "Calls from customers who already have an open work order."}),
		Urges:             prometheus.NewCounter(prometheus.CounterOpts{Name: "hotline_urges_total", Help: "Work orders urged (催办) by callers."}),
		OutageNotices:     prometheus.NewCounter(prometheus.CounterOpts{Name: "hotline_outage_notices_total", Help: "Callers told of a known outage before the menu."}),
		NoticesPlayed: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "hotline_notices_played_total",
			Help: "Timed notices started to callers before the menu, by kind (one per notice per call, heard to the end or cut short by a key)."}, []string{"kind"}),
		QueueOverflows: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "hotline_queue_overflows_total",
			Help: "Callers moved on after a queue's longest wait, by queue and destination (a queue, or callback)."}, []string{"queue", "to"}),
		QueueTransfers: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "hotline_queue_transfers_total",
			Help: "Callers an agent transferred to another queue (blind transfers), by queue and destination queue."}, []string{"queue", "to"}),
		AgentTransfers: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "hotline_agent_transfers_total",
			Help: "Attended transfers: an agent consulted a colleague, by the call's queue and outcome (completed, returned, no_answer, colleague_hangup, caller_hangup)."}, []string{"queue", "outcome"}),
		QueueEstimatedWait: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "hotline_queue_estimated_wait_seconds",
			Help: "The last estimated wait announced to a caller of the queue."}, []string{"queue"}),
		CallRecordings: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "hotline_call_recordings_total",
			Help: "Recordings of calls bridged to an agent, by result (started, failed)."}, []string{"result"}),
		QueueCallbackOffers: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "hotline_queue_callback_offers_total",
			Help: "Offers of a callback that keeps the caller's place, by queue and result (offered, accepted)."}, []string{"queue", "result"}),
	}
	m.DeadlinesMissed = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "hotline_ticket_deadlines_missed_total",
		Help: "Work-order deadlines found missed by the watcher (and escalated or supervised), by kind."}, []string{"kind"})
	m.DeadlinesOverdue = prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "hotline_ticket_deadlines_overdue",
		Help: "Work-order deadlines past due now, by kind (verify, contact, progress, answer, callback, regulator), from Redis."}, []string{"kind"})
	m.OutagesActive = prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "hotline_outages_active", Help: "Active outages by kind, from Redis."}, []string{"kind"})
	m.OutagesOverrun = prometheus.NewGauge(prometheus.GaugeOpts{Name: "hotline_outages_overrun",
		Help: "Active outages past their expected restore time by more than the policy's grace, with no new time, from Redis."})
	m.OutagesUnconfirm = prometheus.NewGauge(prometheus.GaugeOpts{Name: "hotline_outages_unconfirmed",
		Help: "Outages the hotline declared from piled-up fault reports that no supervisor has confirmed, from Redis."})
	m.OutagesAuto = prometheus.NewCounter(prometheus.CounterOpts{Name: "hotline_outages_auto_declared_total",
		Help: "Outages declared by the hotline because fault reports from one transformer passed the policy threshold."})
	m.OutageRepeats = prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "hotline_outage_repeat_places",
		Help: "Lines and transformers with repeated outages in the policy window, by level (warning, study)."}, []string{"level"})
	m.OutageRepeatTop = prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "hotline_outage_repeats",
		Help: "Outages in the policy window of the most flagged lines and transformers (the policy's top), by place kind, name and level."}, []string{"place", "name", "level"})
	m.HotSpots = prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "hotline_complaint_hot_spots",
		Help: "Complaints in the moving window of each complaint hot spot (the policy's top), by dimension (area, subject) and key."}, []string{"dimension", "key"})
	m.SurveyAnswers = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "hotline_survey_answers_total",
		Help: "Post-call survey answers (asked when the agent hung up first), by queue, agent and answer: satisfied, fair, dissatisfied, none."},
		[]string{"queue", "agent", "answer"})
	reg.MustRegister(m.SurveyAnswers)
	reg.MustRegister(m.DeadlinesMissed, m.DeadlinesOverdue, m.OutagesActive, m.OutagesOverrun, m.OutagesUnconfirm, m.OutagesAuto,
		m.OutageRepeats, m.OutageRepeatTop, m.HotSpots)
	for _, k := range deadlineKinds {
		m.DeadlinesMissed.WithLabelValues(k)
		m.DeadlinesOverdue.WithLabelValues(k)
	}
	for _, l := range []string{"warning", "study"} {
		m.OutageRepeats.WithLabelValues(l)
	}
	reg.MustRegister(m.CallsStarted, m.CallsEnded, m.CallsActive,
		m.QueueOffered, m.QueueAnswered, m.QueueAbandoned, m.QueueWaiting, m.QueueWaitSeconds,
		m.AgentRingNoAnswer, m.AgentsByState, m.TicketsCreated,
		m.CallbacksSched, m.CallbacksDeduped, m.CallbacksPlaced, m.CallbacksFinal, m.CallbacksPending, m.RedisErrors,
		m.QueueLongestWait, m.QueueTalkSeconds, m.AgentsPaused, m.CallbacksOverdue, m.CallbacksDue, m.CallbacksOnTime, m.RedisSeconds,
		m.TicketsOpen, m.TicketsOverdue, m.TicketsDueSoon, m.TicketsEscalated, m.FollowUps, m.RepeatCalls, m.Urges, m.OutageNotices,
		m.NoticesPlayed, m.QueueOverflows, m.QueueTransfers, m.AgentTransfers, m.QueueEstimatedWait, m.QueueCallbackOffers, m.CallRecordings)
	for _, r := range []string{"started", "failed"} {
		m.CallRecordings.WithLabelValues(r)
	}
	for _, op := range redisOps {
		m.RedisErrors.WithLabelValues(op)
	}
	for _, kind := range noticeKinds {
		m.NoticesPlayed.WithLabelValues(kind)
	}
	return m
}

// ExportQueues exports every queue's counters and histograms at zero from
// the start. A series born at its first observation hides that observation
// from rate() and increase() (they need a sample before it), so a queue's
// first answered call or first talk would never show on a dashboard.
func (m *Metrics) ExportQueues(names []string) {
	for _, q := range names {
		m.QueueOffered.WithLabelValues(q)
		m.QueueAnswered.WithLabelValues(q)
		m.QueueAbandoned.WithLabelValues(q)
		m.QueueTalkSeconds.WithLabelValues(q)
		for _, outcome := range []string{"answered", "abandoned"} {
			m.QueueWaitSeconds.WithLabelValues(q, outcome)
		}
	}
}

// redisOps are the operations whose Redis failures are counted; each is
// exported at zero from the start, so no errors reads as 0, not as nothing.
var redisOps = []string{"account_lookup", "agents_sweep", "callback_claim", "callback_finish", "callback_recover", "cdr_write",
	"callback_schedule", "calls_refresh", "notice_lookup", "open_tickets", "outage_lookup", "queue_claim",
	"queue_join", "queue_leave", "queue_stats", "survey", "ticket_create", "watcher_lock"}

// deadlineKinds are tickets.DeadlineKinds, exported at zero from the start.
var deadlineKinds = []string{"verify", "contact", "progress", "answer", "callback", "regulator"}

// noticeKinds are notices.Kinds (not imported: metrics depends on nothing
// of ours), exported at zero from the start like redisOps.
var noticeKinds = []string{"storm", "planned", "holiday", "general"}

// Discard returns metrics registered nowhere, for tests that do not look at them.
func Discard() *Metrics { return New(prometheus.NewRegistry()) }
