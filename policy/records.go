package policy

import (
	"strings"
	"time"
)

// Records is how long call records are kept and how statistics are cut.
type Records struct {
	// Retention: a call record (and its statistics interval) is deleted
	// from Redis this long after the call started. Export them with
	// `hotline calls export` to keep them longer.
	Retention time.Duration
	// Interval is the length of one statistics interval (e.g. 30m): the
	// per-interval figures of the API and the wallboard are cut at
	// multiples of it in China time. It must divide a day.
	Interval time.Duration
}

// Recordings is the call-recording policy.
type Recordings struct {
	// AgentCalls: record every call bridged to an agent, from answer to
	// hang-up; false records none.
	AgentCalls bool
	// Retention: recordings older than this are deleted, file and index,
	// by the sweep.
	Retention time.Duration
}

// Our choices: no public source sets these. Ninety days of records keep a
// quarter's statistics in Redis (a record is about 1 KB; export for
// longer); recordings are kept half a year, long enough for a complaint to
// pass through 12398 (10 working days) and its appeals.
var (
	defaultRecords    = Records{Retention: 90 * 24 * time.Hour, Interval: 30 * time.Minute}
	defaultRecordings = Recordings{AgentCalls: true, Retention: 180 * 24 * time.Hour}
)

// Records returns the call-record policy.
func (p *Policy) Records() Records {
	if p.records.Retention == 0 {
		return defaultRecords
	}
	return p.records
}

// Recordings returns the call-recording policy.
func (p *Policy) Recordings() Recordings {
	if p.recordings.Retention == 0 {
		return defaultRecordings
	}
	return p.recordings
}

type rawRecords struct {
	RetentionDays *int   `yaml:"retention_days"`
	StatsInterval string `yaml:"stats_interval"`
}

type rawRecordings struct {
	AgentCalls    string `yaml:"agent_calls"`
	RetentionDays *int   `yaml:"retention_days"`
}

// maxRetentionDays bounds both retentions: ten years is a typo's worth.
const maxRetentionDays = 3660

func retentionDays(c checker, fp string, v *int, def time.Duration) time.Duration {
	switch {
	case v == nil:
		return def
	case *v < 1 || *v > maxRetentionDays:
		c.errf(fp, "%d is not a number of days from 1 to %d", *v, maxRetentionDays)
		return def
	}
	return time.Duration(*v) * 24 * time.Hour
}

func parseRecords(c checker, raw rawRecords) Records {
	r := Records{Retention: retentionDays(c, "records.retention_days", raw.RetentionDays, defaultRecords.Retention),
		Interval: defaultRecords.Interval}
	if s := strings.TrimSpace(raw.StatsInterval); s != "" {
		v, err := ParseSpan(s)
		switch {
		case err != nil:
			c.errf("records.stats_interval", "%v", err)
		case v.Unit != Clock || v.Clock < 5*time.Minute || v.Clock > 24*time.Hour || (24*time.Hour)%v.Clock != 0:
			c.errf("records.stats_interval", "%q must be a clock duration from 5m to 24h that divides a day, such as 15m, 30m or 1h", s)
		default:
			r.Interval = v.Clock
		}
	}
	return r
}

func parseRecordings(c checker, raw rawRecordings) Recordings {
	r := Recordings{AgentCalls: defaultRecordings.AgentCalls,
		Retention: retentionDays(c, "recordings.retention_days", raw.RetentionDays, defaultRecordings.Retention)}
	switch strings.TrimSpace(raw.AgentCalls) {
	case "":
	case "all":
		r.AgentCalls = true
	case "none":
		r.AgentCalls = false
	default:
		c.errf("recordings.agent_calls", "must be all or none, not %q", raw.AgentCalls)
	}
	return r
}
