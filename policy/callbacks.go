package policy

import (
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/hotline95598/hotline/internal/china"
)

// Callback kinds the policy must define.
var CallbackKinds = []string{"abandoned", "cut_off", "follow_up", "first_contact", "leadership", "scheduled", "virtual_hold"}

// CallbackKind is how one kind of callback is placed.
type CallbackKind struct {
	Delay       time.Duration // first attempt this long after the promise
	Window      time.Duration // every attempt inside this window from the promise
	MaxAttempts int
	Retry       time.Duration // between unanswered attempts
	Hours       DialingHours  // when customers may be dialled
	AnyHourFor  []string      // ticket types exempt from the dialing hours (e.g. fault follow-ups)
	AgentFirst  bool          // ring an agent first, then the customer; else the customer first
	CallerID    string        // what the customer sees; "" = the controller's HOTLINE_CALLBACK_CALLER_ID
}

// CallbackPolicy is the callback engine's policy.
type CallbackPolicy struct {
	MaxConcurrent int // outbound lines callbacks may use at once (0: no limit)
	Kinds         map[string]CallbackKind
}

// Callbacks returns the callback policy.
func (p *Policy) Callbacks() CallbackPolicy {
	kinds := make(map[string]CallbackKind, len(p.callbacks.Kinds))
	for k, v := range p.callbacks.Kinds {
		kinds[k] = v
	}
	return CallbackPolicy{MaxConcurrent: p.callbacks.MaxConcurrent, Kinds: kinds}
}

// DialingHours is a daily window in China time, e.g. 08:00–21:00. A
// window may cross midnight (22:00–06:00). The zero value allows any hour.
type DialingHours struct {
	From, To int // minutes after midnight; From == To means any hour
}

// AnyHour is a window that never closes.
var AnyHour = DialingHours{}

func (h DialingHours) always() bool { return h.From == h.To }

func (h DialingHours) String() string {
	if h.always() {
		return "any"
	}
	return fmt.Sprintf("%02d:%02d-%02d:%02d", h.From/60, h.From%60, h.To/60, h.To%60)
}

// Allowed reports whether t falls inside the window.
func (h DialingHours) Allowed(t time.Time) bool {
	if h.always() {
		return true
	}
	t = t.In(china.Zone)
	m := t.Hour()*60 + t.Minute()
	if h.From < h.To {
		return m >= h.From && m < h.To
	}
	return m >= h.From || m < h.To // crosses midnight
}

// Next returns t if dialing is allowed then, else the next moment it is.
func (h DialingHours) Next(t time.Time) time.Time {
	if h.Allowed(t) {
		return t
	}
	ct := t.In(china.Zone)
	day := time.Date(ct.Year(), ct.Month(), ct.Day(), 0, 0, 0, 0, china.Zone)
	open := day.Add(time.Duration(h.From) * time.Minute)
	if !open.After(ct) {
		open = open.AddDate(0, 0, 1)
	}
	return open
}

// ParseDialingHours reads "08:00-21:00" or "any".
func ParseDialingHours(s string) (DialingHours, error) {
	s = strings.TrimSpace(s)
	if s == "any" {
		return AnyHour, nil
	}
	from, to, ok := strings.Cut(s, "-")
	if !ok {
		return DialingHours{}, fmt.Errorf("%q is not HH:MM-HH:MM or \"any\"", s)
	}
	f, err1 := clockMinutes(from)
	t, err2 := clockMinutes(to)
	if err1 != nil || err2 != nil {
		return DialingHours{}, fmt.Errorf("%q is not HH:MM-HH:MM or \"any\"", s)
	}
	if f == t {
		return DialingHours{}, fmt.Errorf("%q opens and closes at the same minute; write \"any\" for no limit", s)
	}
	return DialingHours{From: f, To: t}, nil
}

func clockMinutes(s string) (int, error) {
	hh, mm, ok := strings.Cut(strings.TrimSpace(s), ":")
	h, err1 := strconv.Atoi(hh)
	m, err2 := strconv.Atoi(mm)
	if !ok || err1 != nil || err2 != nil || h < 0 || h > 24 || m < 0 || m > 59 || (h == 24 && m != 0) || len(mm) != 2 {
		return 0, fmt.Errorf("bad clock time %q", s)
	}
	return (h*60 + m) % (24 * 60), nil
}

type rawCallbacks struct {
	MaxConcurrent int                        `yaml:"max_concurrent"`
	DialingHours  string                     `yaml:"dialing_hours"`
	Kinds         map[string]rawCallbackKind `yaml:"kinds"`
}

type rawCallbackKind struct {
	Delay        string   `yaml:"delay"`
	Window       string   `yaml:"window"`
	MaxAttempts  int      `yaml:"max_attempts"`
	Retry        string   `yaml:"retry"`
	DialingHours string   `yaml:"dialing_hours"`
	AnyHourFor   []string `yaml:"any_hour_for"`
	Mode         string   `yaml:"mode"`
	CallerID     string   `yaml:"caller_id"`
	Note         string   `yaml:"note"`
}

// parseCallbacks validates the callbacks section. The follow-up kind takes
// its window, attempts and retry from follow_up unless it sets its own.
func parseCallbacks(c checker, raw rawCallbacks, fu FollowUpPolicy, knownTypes map[string]bool, leadership Span) CallbackPolicy {
	out := CallbackPolicy{MaxConcurrent: raw.MaxConcurrent, Kinds: map[string]CallbackKind{}}
	if raw.MaxConcurrent < 0 {
		c.errf("callbacks.max_concurrent", "must not be negative (0 means no limit)")
	}
	hours := AnyHour
	if raw.DialingHours != "" {
		h, err := ParseDialingHours(raw.DialingHours)
		if err != nil {
			c.errf("callbacks.dialing_hours", "%v", err)
		}
		hours = h
	}
	clock := func(fp, s string, required bool) time.Duration {
		if strings.TrimSpace(s) == "" {
			if required {
				c.errf(fp, "required")
			}
			return 0
		}
		v, err := ParseSpan(s)
		if err != nil {
			c.errf(fp, "%v", err)
			return 0
		}
		if v.Unit != Clock {
			c.errf(fp, "must be a clock duration such as \"10m\", not %q", s)
			return 0
		}
		return v.Clock
	}
	for _, k := range CallbackKinds {
		if _, ok := raw.Kinds[k]; !ok {
			c.errf("callbacks.kinds."+k, "required: every kind of callback needs its policy")
		}
	}
	names := make([]string, 0, len(raw.Kinds))
	for k := range raw.Kinds {
		names = append(names, k)
	}
	sort.Strings(names)
	for _, k := range names {
		rk := raw.Kinds[k]
		fp := "callbacks.kinds." + k
		known := false
		for _, kk := range CallbackKinds {
			known = known || kk == k
		}
		if !known {
			c.errf(fp, "unknown kind (known: %s)", strings.Join(CallbackKinds, ", "))
			continue
		}
		isFollowUp := k == "follow_up"
		// The leadership's call back (seed 001 §4.9) is due within
		// escalation.callback_within, which may count working days: the
		// window is worked out per call, never written here.
		isLeadership := k == "leadership"
		if isLeadership && rk.Window != "" {
			c.errf(fp+".window", "is escalation.callback_within (%s), not set here: remove it", leadership)
		}
		if len(rk.AnyHourFor) > 0 && !isFollowUp {
			c.errf(fp+".any_hour_for", "only a follow_up callback belongs to a work order type: remove it")
		}
		kind := CallbackKind{Hours: hours, MaxAttempts: rk.MaxAttempts, AnyHourFor: rk.AnyHourFor, CallerID: rk.CallerID}
		for _, r := range rk.CallerID {
			if !(r >= '0' && r <= '9' || r == '+') {
				c.errf(fp+".caller_id", "%q is not a telephone number", rk.CallerID)
				break
			}
		}
		kind.Delay = clock(fp+".delay", rk.Delay, false)
		if !isLeadership {
			kind.Window = clock(fp+".window", rk.Window, !isFollowUp)
		} else if leadership.Unit == Clock {
			kind.Window = leadership.Clock
		} else {
			// The shortest a day count can be: attempts must fit in it.
			kind.Window = time.Duration(leadership.Days) * 24 * time.Hour
		}
		kind.Retry = clock(fp+".retry", rk.Retry, false)
		if isFollowUp {
			if kind.Window == 0 {
				kind.Window = fu.Window
			}
			if kind.MaxAttempts == 0 {
				kind.MaxAttempts = fu.MaxAttempts
			}
			if kind.Retry == 0 {
				kind.Retry = fu.Retry
			}
		}
		// Inherited follow-up figures were checked in follow_up already:
		// report a defect once, where it was written.
		inherited := isFollowUp && rk.Window == "" && rk.Retry == "" && rk.MaxAttempts == 0
		if inherited {
			if kind.Window > 0 && kind.Delay >= kind.Window {
				c.errf(fp+".delay", "%s leaves no time inside the %s window", formatClock(kind.Delay), formatClock(kind.Window))
			}
		} else if kind.MaxAttempts < 1 {
			c.errf(fp+".max_attempts", "must be at least 1")
		}
		if !inherited && kind.MaxAttempts > 1 && kind.Retry <= 0 {
			c.errf(fp+".retry", "required when more than one attempt is allowed")
		}
		if !inherited && kind.Window > 0 && kind.Delay >= kind.Window {
			c.errf(fp+".delay", "%s leaves no time inside the %s window", formatClock(kind.Delay), formatClock(kind.Window))
		}
		if last := kind.Delay + time.Duration(kind.MaxAttempts-1)*kind.Retry; !inherited && kind.MaxAttempts > 1 && kind.Window > 0 && last >= kind.Window {
			c.errf(fp+".retry", "%d attempts %s apart after %s do not fit in the %s window", kind.MaxAttempts, formatClock(kind.Retry), formatClock(kind.Delay), formatClock(kind.Window))
		}
		if rk.DialingHours != "" {
			h, err := ParseDialingHours(rk.DialingHours)
			if err != nil {
				c.errf(fp+".dialing_hours", "%v", err)
			}
			kind.Hours = h
		}
		for i, typ := range rk.AnyHourFor {
			if !knownTypes[typ] {
				c.errf(fmt.Sprintf("%s.any_hour_for[%d]", fp, i), "unknown ticket type %q", typ)
			}
		}
		switch rk.Mode {
		case "", "customer_first":
		case "agent_first":
			kind.AgentFirst = true
		default:
			c.errf(fp+".mode", "must be customer_first or agent_first, not %q", rk.Mode)
		}
		out.Kinds[k] = kind
	}
	return out
}
