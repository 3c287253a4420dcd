package menus

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/hotline95598/hotline/ivr"
	"github.com/hotline95598/hotline/prompts"
	"github.com/rs/zerolog"
)

// Steps is the domain work a menu calls on. The call flow implements it
// for each call: the value passed to Run is bound to that call's own state,
// and each method also gets the menu's State of the call.
//
// A method that finds the caller gone returns an error wrapping
// ivr.ErrHangup. Any other error sends the call to the node's on_fail, or,
// without one, ends it with an apology.
type Steps interface {
	// Run runs a named self-service step (one of Names.Steps). Its result
	// picks the next node through the node's results; "" or a result the
	// node does not list goes to next.
	Run(ctx context.Context, step string, st *State) (result string, err error)
	// CreateTicket writes a work order of type kind for the call and sets
	// st.Ticket to its id.
	CreateTicket(ctx context.Context, kind string, st *State) error
	// Enqueue queues the caller for a human and serves them until the
	// call ends or an agent is done with it.
	Enqueue(ctx context.Context, queue, reason string, st *State) error
	// Transfer hands the call to another destination.
	Transfer(ctx context.Context, to, reason string, st *State) error
}

// State is one call's walk through the menu, owned by the call's goroutine
// (the call flow keeps it in its per-call value).
type State struct {
	Sess   *ivr.Session
	CallID string
	Ticket string   // the work order created on this call, for $ticket
	Input  string   // the digits last entered at a collect node, without '#'
	Path   []string // keys taken, e.g. 2>1
	Node   string   // the node being run
	Menu   *Menu    // the menu this call runs; a reload does not change it
	// Voice is the set of recordings the caller hears: "" the Mandarin
	// prompts, prompts.VoiceEnglish or prompts.VoiceSlow. A step may change
	// it (English or elderly service); it holds for the rest of the call.
	Voice string
	// Intro, for Enqueue: the enqueue node's prompts ("transferring you"),
	// for the queue to play while it already rings an agent, instead of
	// making the caller hear them out first.
	Intro []string

	pending []string
}

// Say queues prompts (catalogue ids) to be heard before the next prompt the
// menu plays, in the same playback: a key pressed during them is the
// caller's answer to that prompt, as if it were one sentence.
func (st *State) Say(ids ...string) {
	st.pending = append(st.pending, prompts.MediaList(st.Voice, ids...)...)
}

// Media maps prompt ids to Asterisk media in the call's voice.
func (st *State) Media(ids ...string) []string { return prompts.MediaList(st.Voice, ids...) }

// MenuPath joins the keys taken, for work orders and agents.
func (st *State) MenuPath() string { return strings.Join(st.Path, ">") }

func (st *State) take() []string {
	p := st.pending
	st.pending = nil
	return p
}

// Outcome is how a call left the menu.
type Outcome struct {
	Kind   string // OutcomeContained, OutcomeAgent, OutcomeCallerHangup, OutcomeError
	Node   string // the node it left at
	Queue  string // for enqueue
	To     string // for transfer
	Reason string // for enqueue and transfer
}

// Runner runs menus. One Runner serves every call; it keeps no per-call
// state. Its metrics are labelled with the menu's own node ids and keys.
type Runner struct {
	Metrics *Metrics // may be nil in tests
	Log     zerolog.Logger
	// FloodQuiet is the silence that ends a DTMF flood: after an entry with
	// more digits than allowed, keys are swallowed until none come for this
	// long, so the re-prompt is heard cleanly. Zero means 300ms.
	FloodQuiet time.Duration
	// MaxSteps bounds the nodes one call may pass through; it stops a
	// caller (or a robot) going round a loop for ever. Zero means 500.
	MaxSteps int
}

// errSorry marks a failure the runner has already apologised for.
var errSorry = errors.New("menus: step failed")

// Run executes m for one call from its start node until the call leaves
// the menu, calling on steps (bound to that call) for the domain work. The
// error is nil whenever the outcome is a normal end (served, queued,
// transferred, the caller hung up); it explains an OutcomeError.
func (r *Runner) Run(ctx context.Context, m *Menu, st *State, steps Steps) (Outcome, error) {
	st.Menu = m
	log := r.Log.With().Str("call_id", st.CallID).Str("menu", m.Version).Logger()
	failures := map[string]int{} // per node, for the whole call
	heard := map[string]bool{}   // nodes whose intro was played
	var back []string            // prompting nodes heard, for *
	maxSteps := r.MaxSteps
	if maxSteps <= 0 {
		maxSteps = 500
	}
	cur := m.Start
	for passed := 0; ; passed++ {
		n := m.Nodes[cur]
		if n == nil || passed >= maxSteps {
			err := fmt.Errorf("menus: node %q after %d steps", cur, passed)
			return r.end(ctx, st, log, Outcome{Kind: OutcomeError, Node: cur}, err)
		}
		st.Node = cur
		switch n.Action {
		case ActPlay:
			if err := st.Sess.Say(ctx, r.media(st, n.Prompts)...); err != nil {
				return r.gone(ctx, st, log, n, err)
			}
			cur = n.Next

		case ActHangup:
			// A caller who hangs up during the goodbye was still served.
			_ = st.Sess.Say(ctx, r.media(st, n.Prompts)...)
			return r.end(ctx, st, log, Outcome{Kind: OutcomeContained, Node: n.ID}, nil)

		case ActEnqueue, ActTransfer:
			if n.Action == ActEnqueue {
				st.Intro = r.media(st, n.Prompts)
			} else if err := st.Sess.Say(ctx, r.media(st, n.Prompts)...); err != nil {
				return r.gone(ctx, st, log, n, err)
			}
			out := Outcome{Kind: OutcomeAgent, Node: n.ID, Queue: n.Queue, To: n.To, Reason: n.Reason}
			if r.Metrics != nil {
				r.Metrics.ToAgents.WithLabelValues(n.Reason).Inc()
			}
			log.Info().Str("node", n.ID).Str("queue", n.Queue).Str("to", n.To).Str("reason", n.Reason).
				Str("menu_path", st.MenuPath()).Msg("menu hands the caller to a person")
			var err error
			if n.Action == ActEnqueue {
				err = steps.Enqueue(ctx, n.Queue, n.Reason, st)
			} else {
				err = steps.Transfer(ctx, n.To, n.Reason, st)
			}
			if err != nil && !errors.Is(err, ivr.ErrHangup) {
				out.Kind = OutcomeError
				return r.end(ctx, st, log, out, fmt.Errorf("menus: node %s: %w", n.ID, err))
			}
			return r.end(ctx, st, log, out, nil)

		case ActSelfService:
			res, err := steps.Run(ctx, n.Step, st)
			if err != nil {
				next, ferr := r.failed(ctx, st, log, n, err)
				if ferr != nil {
					return r.gone(ctx, st, log, n, ferr)
				}
				cur = next
				continue
			}
			cur = n.Next
			if t, ok := n.Results[res]; ok {
				cur = t
			} else if res != "" {
				log.Warn().Str("node", n.ID).Str("step", n.Step).Str("result", res).Msg("step result not in the menu; going to next")
			}

		case ActTicket:
			if err := steps.CreateTicket(ctx, n.Ticket, st); err != nil {
				next, ferr := r.failed(ctx, st, log, n, err)
				if ferr != nil {
					return r.gone(ctx, st, log, n, ferr)
				}
				cur = next
				continue
			}
			cur = n.Next

		case ActMenu, ActCollect:
			first := !heard[n.ID]
			heard[n.ID] = true
			next, err := r.ask(ctx, st, log, n, first, failures)
			if err != nil {
				return r.gone(ctx, st, log, n, err)
			}
			switch next {
			case TargetBack:
				if len(back) == 0 {
					next = n.ID // nothing before the first menu: hear it again
				} else {
					next, back = back[len(back)-1], back[:len(back)-1]
				}
			case TargetRepeat:
				next = n.ID
			default:
				if next != n.ID {
					back = append(back, n.ID)
				}
			}
			cur = next

		default:
			return r.end(ctx, st, log, Outcome{Kind: OutcomeError, Node: n.ID}, fmt.Errorf("menus: node %s: unknown action %q", n.ID, n.Action))
		}
	}
}

// ask plays a menu or collect node until it gets a usable answer or runs
// out of retries; it returns the next node, TargetBack or TargetRepeat.
func (r *Runner) ask(ctx context.Context, st *State, log zerolog.Logger, n *Node, first bool, failures map[string]int) (string, error) {
	var apology []string
	for {
		var ids []string
		if first {
			ids = append(ids, n.Intro...)
		}
		ids = append(ids, n.Prompts...)
		media := append(r.media(st, apology), r.media(st, ids)...)
		first = false
		c := ivr.Collect{Media: media, Timeout: n.Timeout}
		if n.Action == ActMenu {
			c.Match, c.MaxDigits = ivr.OneOf(validKeys), 1
		} else {
			// One more than max_digits leaves room for the '#'.
			c.Match, c.InterDigit, c.MaxDigits = numberOrStar, n.InterDigit, n.MaxDigits+1
			c.Overall = n.Overall
		}
		got, err := st.Sess.Collect(ctx, c)
		if n.Action == ActCollect && errors.Is(err, ivr.ErrNoInput) && got != "" {
			// Digits and then silence: a caller who forgot the '#' has
			// still entered a number.
			err = nil
		}
		kind := ""
		switch {
		case errors.Is(err, ivr.ErrHangup), ctx.Err() != nil:
			return "", ivr.ErrHangup
		case errors.Is(err, ivr.ErrNoInput):
			kind, apology = "timeout", n.OnTimeout
		case errors.Is(err, ivr.ErrInvalid):
			kind, apology = "invalid", n.OnInvalid
			if len(got) > c.MaxDigits {
				if err := r.drain(ctx, st); err != nil {
					return "", err
				}
			}
		case err != nil:
			return "", fmt.Errorf("menus: node %s: collect: %w", n.ID, err)
		}
		if kind == "" {
			if n.Action == ActCollect {
				if strings.HasSuffix(got, "*") {
					r.selected(n, "*")
					return TargetBack, nil
				}
				st.Input = strings.TrimSuffix(got, "#")
				r.selected(n, "digits")
				return n.Next, nil
			}
			target, ok := n.Keys[got]
			if !ok && got == "*" {
				target, ok = TargetBack, true
			}
			if f := st.Menu.Nodes[n.Fallthrough]; !ok && f != nil {
				// A key of the menu this one falls through to: the
				// caller's choice there, counted at that menu.
				if t, fok := f.Keys[got]; fok && t != TargetBack && t != TargetRepeat {
					r.selected(f, got)
					st.Path = append(st.Path, got)
					log.Info().Str("node", n.ID).Str("to", f.ID).Str("key", got).Msg("menu choice of the menu fallen through to")
					return t, nil
				}
			}
			if ok {
				r.selected(n, got)
				if got != "*" {
					st.Path = append(st.Path, got)
				}
				log.Info().Str("node", n.ID).Str("key", got).Msg("menu choice")
				return target, nil
			}
			kind, apology = "invalid", n.OnInvalid // a key, but not one offered here
		}
		failures[n.ID]++
		if r.Metrics != nil {
			if kind == "timeout" {
				r.Metrics.Timeouts.WithLabelValues(n.ID).Inc()
			} else {
				r.Metrics.Invalid.WithLabelValues(n.ID).Inc()
			}
		}
		log.Info().Str("node", n.ID).Str("kind", kind).Int("failures", failures[n.ID]).Msg("menu failure")
		if failures[n.ID] >= n.Retries {
			if r.Metrics != nil {
				r.Metrics.Failed.WithLabelValues(n.ID).Inc()
			}
			if n.Retries > 1 || kind != "timeout" {
				// Silence at a one-try offer ("1 for an agent") declines
				// it; it is no failure worth a mark in the path.
				st.Path = append(st.Path, "fail")
			}
			return n.OnFail, nil
		}
	}
}

func (r *Runner) selected(n *Node, key string) {
	if r.Metrics != nil {
		r.Metrics.Selections.WithLabelValues(n.ID, key).Inc()
	}
}

// numberOrStar matches digits ended by '#', and a '*' at any point, which
// means "back". Anything else (A-D, a bare '#') is invalid.
func numberOrStar(d string) ivr.Match {
	last := d[len(d)-1]
	switch {
	case last == '*':
		return ivr.Complete
	case last == '#':
		if len(d) == 1 {
			return ivr.Invalid
		}
		return ivr.Complete
	case last < '0' || last > '9':
		return ivr.Invalid
	}
	return ivr.Incomplete
}

// maxDrainRounds bounds how long a flood is swallowed: a line that sends
// keys for ever (a fax, a stuck key) still gets its re-prompt.
const maxDrainRounds = 16

// drain swallows the rest of a DTMF flood until the line is quiet.
func (r *Runner) drain(ctx context.Context, st *State) error {
	quiet := r.FloodQuiet
	if quiet <= 0 {
		quiet = 300 * time.Millisecond
	}
	never := func(string) ivr.Match { return ivr.Incomplete }
	for i := 0; i < maxDrainRounds; i++ {
		_, err := st.Sess.Collect(ctx, ivr.Collect{Match: never, Timeout: quiet, InterDigit: quiet, MaxDigits: 4096})
		switch {
		case errors.Is(err, ivr.ErrHangup), ctx.Err() != nil:
			return ivr.ErrHangup
		case errors.Is(err, ivr.ErrNoInput):
			return nil // quiet at last
		}
	}
	return nil
}

// failed handles a step or ticket error: to on_fail when the node has one,
// else an apology and the end of the call (errSorry).
func (r *Runner) failed(ctx context.Context, st *State, log zerolog.Logger, n *Node, err error) (string, error) {
	if errors.Is(err, ivr.ErrHangup) || ctx.Err() != nil {
		return "", ivr.ErrHangup
	}
	log.Error().Err(err).Str("node", n.ID).Msg("menu step failed")
	if n.OnFail != "" {
		return n.OnFail, nil
	}
	_ = st.Sess.Say(ctx, r.media(st, []string{"error_try_later"})...)
	return "", fmt.Errorf("%w: node %s: %w", errSorry, n.ID, err)
}

// gone ends the run after an error while talking to the caller.
func (r *Runner) gone(ctx context.Context, st *State, log zerolog.Logger, n *Node, err error) (Outcome, error) {
	if errors.Is(err, ivr.ErrHangup) || ctx.Err() != nil {
		return r.end(ctx, st, log, Outcome{Kind: OutcomeCallerHangup, Node: n.ID}, nil)
	}
	return r.end(ctx, st, log, Outcome{Kind: OutcomeError, Node: n.ID}, err)
}

func (r *Runner) end(ctx context.Context, st *State, log zerolog.Logger, out Outcome, err error) (Outcome, error) {
	if r.Metrics != nil {
		r.Metrics.Outcomes.WithLabelValues(out.Kind, out.Node).Inc()
	}
	ev := log.Info()
	if err != nil {
		ev = log.Error().Err(err)
	}
	ev.Str("outcome", out.Kind).Str("node", out.Node).Str("menu_path", st.MenuPath()).Msg("menu ended")
	return out, err
}

// media turns prompt ids and placeholders into Asterisk media, after any
// speech a step queued with State.Say.
func (r *Runner) media(st *State, ids []string) []string {
	out := st.take()
	for _, id := range ids {
		switch id {
		case "$ticket":
			out = append(out, st.Media(prompts.Digits(st.Ticket)...)...)
		case "$input":
			out = append(out, st.Media(prompts.Digits(st.Input)...)...)
		default:
			out = append(out, prompts.MediaIn(st.Voice, id))
		}
	}
	return out
}
