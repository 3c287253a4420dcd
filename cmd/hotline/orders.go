package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"time"

	"github.com/hotline95598/hotline/outages"
	"github.com/hotline95598/hotline/tickets"
	"github.com/hotline95598/hotline/workorders"
)

// ticketChange reads the flags of `hotline tickets do ID ACTION`.
func ticketChange(action string, args []string, actor string) (tickets.Change, error) {
	c := tickets.Change{Action: tickets.Action(action)}
	fs := flag.NewFlagSet("tickets do", flag.ContinueOnError)
	fs.StringVar(&c.Note, "note", "", "why, or what was said or done")
	fs.StringVar(&c.AssignTo, "to", "", "assign or transfer to")
	fs.StringVar(&c.Result, "result", "", "handling result (required to resolve)")
	fs.StringVar(&c.Level, "level", "", "ladder level to escalate to (default: one up)")
	fs.StringVar(&c.Class, "class", "", "complaint class (classify)")
	fs.StringVar(&c.Subject, "subject", "", "complaint or report subject (classify)")
	fs.StringVar(&c.Grade, "grade", "", "complaint grade V … I (classify)")
	fs.StringVar(&c.Responsibility, "responsibility", "", "customer or utility (verify)")
	fs.StringVar(&c.Cause, "cause", "", "root cause (investigate)")
	fs.StringVar(&c.Measure, "measure", "", "corrective measure (investigate)")
	fs.StringVar(&c.Decision, "decision", "", "upheld, not_upheld, malicious or averted (decide)")
	fs.StringVar(&c.FollowUp, "follow-up", "", "follow-up outcome: satisfied, unsatisfied or no_answer")
	fs.StringVar(&c.Actor, "actor", actor, "who acts")
	return c, fs.Parse(args)
}

// outagesCommand runs `hotline outages list|get|declare|update|confirm|clear`.
func outagesCommand(ctx context.Context, wo *workorders.Service, cmd string, args []string, actor string) error {
	needID := func() (string, error) {
		if len(args) < 1 {
			return "", fmt.Errorf("usage: hotline outages %s ID", cmd)
		}
		return args[0], nil
	}
	switch cmd {
	case "list":
		list, err := wo.ActiveOutages(ctx)
		return printJSON(list, err)
	case "get":
		id, err := needID()
		if err != nil {
			return err
		}
		o, err := wo.GetOutage(ctx, id)
		return printJSON(o, err)
	case "declare":
		fs := flag.NewFlagSet("outages declare", flag.ContinueOnError)
		kind := fs.String("kind", "fault", "planned or fault")
		o := outages.Outage{DeclaredBy: actor}
		fs.StringVar(&o.Area, "area", "", "area")
		fs.StringVar(&o.Transformer, "transformer", "", "transformer")
		fs.StringVar(&o.Line, "line", "", "line (feeder), for the early warning")
		restore := fs.String("restore", "", "expected restore time, RFC 3339")
		fs.StringVar(&o.Reason, "reason", "", "reason")
		if err := fs.Parse(args); err != nil {
			return err
		}
		o.Kind = outages.Kind(*kind)
		if *restore != "" {
			t, err := time.Parse(time.RFC3339, *restore)
			if err != nil {
				return fmt.Errorf("-restore: %w", err)
			}
			o.ExpectedRestore = t
		}
		o, err := wo.DeclareOutage(ctx, o)
		return printJSON(o, err)
	case "update":
		id, err := needID()
		if err != nil {
			return err
		}
		fs := flag.NewFlagSet("outages update", flag.ContinueOnError)
		restore := fs.String("restore", "", `new expected restore time, RFC 3339, or "unknown"`)
		reason := fs.String("reason", "", "reason (kept when empty)")
		if err := fs.Parse(args[1:]); err != nil {
			return err
		}
		var t time.Time
		switch *restore {
		case "":
			return errors.New(`outages update: -restore is required (an RFC 3339 time, or "unknown")`)
		case "unknown":
		default:
			if t, err = time.Parse(time.RFC3339, *restore); err != nil {
				return fmt.Errorf("-restore: %w", err)
			}
		}
		o, err := wo.UpdateOutage(ctx, id, t, *reason, actor)
		return printJSON(o, err)
	case "confirm", "clear":
		id, err := needID()
		if err != nil {
			return err
		}
		if cmd == "confirm" {
			o, err := wo.ConfirmOutage(ctx, id, actor)
			return printJSON(o, err)
		}
		o, err := wo.ClearOutage(ctx, id, actor)
		return printJSON(o, err)
	}
	return fmt.Errorf("unknown command outages %s", cmd)
}
