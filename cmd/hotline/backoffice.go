package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/hotline95598/hotline/internal/china"
	"github.com/hotline95598/hotline/internal/logx"
	"github.com/hotline95598/hotline/service"
	"github.com/hotline95598/hotline/tickets"
	"github.com/hotline95598/hotline/workorders"
)

const backofficeUsage = `work orders:
  hotline tickets list [-phone P] [-type T] [-status S] [-area A] [-overdue] [-open] [-since D] [-until D] [-limit N]
  hotline tickets get ID
  hotline tickets create -type T [-channel C] [-phone P] [-class C -subject S] [-subtype S] [-area A] [-transformer X] [-named] [-note N]
  hotline tickets do ID ACTION [-note N] [-to WHO] [-result R] [-level L] [-class C -subject S] [-grade G]
      [-responsibility customer|utility] [-cause C -measure M] [-decision D] [-follow-up O] [-actor A]
      ACTION: register classify verify contact propose assign transfer start progress warn investigate
              resolve follow_up decide close urge supervise reopen escalate note
  hotline tickets note ID TEXT
  hotline tickets assign ID WHO
outages:
  hotline outages list
  hotline outages get ID
  hotline outages declare -kind planned|fault [-area A] [-transformer X] [-line L] [-restore 2026-11-22T18:00:00+08:00] [-reason R]
  hotline outages update ID -restore 2026-11-22T20:00:00+08:00|unknown [-reason R]
  hotline outages confirm ID
  hotline outages clear ID
report:
  hotline report complaints -from 2026-11-01 -to 2026-12-01 [-format html|csv|json] [-o FILE]
  hotline report scores -from 2026-11-01 -to 2026-12-01
  hotline report warnings`

// stdout is where the back office prints (a test reads it).
var stdout io.Writer = os.Stdout

// backoffice runs a tickets, outages or report command.
func backoffice(ctx context.Context, args []string) error {
	cfg, err := loadConfig()
	if err != nil {
		return err
	}
	wo, closeFn, err := service.Backoffice(cfg, logx.New(os.Stderr, "warn"))
	if err != nil {
		return err
	}
	defer closeFn()
	if len(args) < 2 {
		return errors.New(backofficeUsage)
	}
	actor := os.Getenv("USER")
	if actor == "" {
		actor = "cli"
	}
	switch args[0] + " " + args[1] {
	case "tickets list":
		return ticketsList(ctx, wo, args[2:])
	case "tickets get":
		if len(args) != 3 {
			return errors.New("usage: hotline tickets get ID")
		}
		t, err := wo.Get(ctx, args[2])
		return printJSON(t, err)
	case "tickets create":
		return ticketsCreate(ctx, wo, args[2:], actor)
	case "tickets do":
		if len(args) < 4 {
			return errors.New("usage: hotline tickets do ID ACTION [flags]")
		}
		c, err := ticketChange(args[3], args[4:], actor)
		if err != nil {
			return err
		}
		t, err := wo.Apply(ctx, args[2], c)
		return printJSON(t, err)
	case "tickets note":
		if len(args) < 4 {
			return errors.New("usage: hotline tickets note ID TEXT")
		}
		t, err := wo.Apply(ctx, args[2], tickets.Change{Action: tickets.ActionNote, Actor: actor, Note: strings.Join(args[3:], " ")})
		return printJSON(t, err)
	case "tickets assign":
		if len(args) != 4 {
			return errors.New("usage: hotline tickets assign ID WHO")
		}
		t, err := wo.Apply(ctx, args[2], tickets.Change{Action: tickets.ActionAssign, Actor: actor, AssignTo: args[3]})
		return printJSON(t, err)
	case "outages list", "outages get", "outages declare", "outages update", "outages confirm", "outages clear":
		return outagesCommand(ctx, wo, args[1], args[2:], actor)
	case "report complaints":
		return reportComplaints(ctx, wo, args[2:])
	case "report scores":
		from, to, err := period(args[2:], "report scores")
		if err != nil {
			return err
		}
		rep, _, err := wo.ComplaintReport(ctx, from, to)
		return printJSON(rep.Scores, err)
	case "report warnings":
		w, err := wo.EarlyWarnings(ctx)
		return printJSON(w, err)
	}
	return fmt.Errorf("unknown command %q\n%s", strings.Join(args[:2], " "), backofficeUsage)
}

func ticketsList(ctx context.Context, wo *workorders.Service, args []string) error {
	fs := flag.NewFlagSet("tickets list", flag.ContinueOnError)
	var f tickets.Filter
	phone := fs.String("phone", "", "caller number")
	typ := fs.String("type", "", "ticket type")
	status := fs.String("status", "", "status")
	fs.StringVar(&f.Area, "area", "", "area")
	fs.BoolVar(&f.Overdue, "overdue", false, "only overdue")
	fs.BoolVar(&f.Open, "open", false, "only open")
	since := fs.String("since", "", "created at or after (YYYY-MM-DD)")
	until := fs.String("until", "", "created before (YYYY-MM-DD)")
	fs.IntVar(&f.Limit, "limit", 50, "at most this many")
	if err := fs.Parse(args); err != nil {
		return err
	}
	f.Phone, f.Type, f.Status = *phone, tickets.Type(*typ), tickets.Status(*status)
	for _, p := range []struct {
		s   string
		dst *time.Time
	}{{*since, &f.Since}, {*until, &f.Until}} {
		if p.s != "" {
			t, err := time.ParseInLocation("2006-01-02", p.s, china.Zone)
			if err != nil {
				return fmt.Errorf("dates are YYYY-MM-DD: %w", err)
			}
			*p.dst = t
		}
	}
	ts, err := wo.List(ctx, f)
	if err != nil {
		return err
	}
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tTYPE\tSTATUS\tLEVEL\tGRADE\tPHONE\tAREA\tANSWER BY")
	for _, t := range ts {
		answer := ""
		if !t.AnswerBy.IsZero() {
			answer = t.AnswerBy.In(china.Zone).Format("2006-01-02 15:04")
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", t.ID, t.Type, t.Status, t.EscalationLevel, t.Grade, t.Phone, t.Area, answer)
	}
	return tw.Flush()
}

func ticketsCreate(ctx context.Context, wo *workorders.Service, args []string, actor string) error {
	fs := flag.NewFlagSet("tickets create", flag.ContinueOnError)
	var t tickets.Ticket
	typ := fs.String("type", "", "fault, complaint, report, consultation, service, opinion, suggestion, praise")
	fs.StringVar(&t.Channel, "channel", "12398", "95598, 12398, 12345, counter, letter, web")
	fs.StringVar(&t.Phone, "phone", "", "customer number")
	fs.StringVar(&t.Account, "account", "", "account number")
	fs.StringVar(&t.Class, "class", "", "complaint class")
	fs.StringVar(&t.Subject, "subject", "", "complaint subject, or a report's (举报) subject")
	fs.StringVar(&t.Subtype, "subtype", "", "sub-type of a fault or service request (e.g. rural, reconnection)")
	fs.StringVar(&t.Area, "area", "", "area")
	fs.StringVar(&t.Transformer, "transformer", "", "transformer")
	fs.BoolVar(&t.Named, "named", false, "the reporter gave their name")
	fs.StringVar(&t.Note, "note", "", "what the customer said")
	if err := fs.Parse(args); err != nil {
		return err
	}
	t.Type = tickets.Type(*typ)
	t.Audit = []tickets.AuditEntry{{Actor: actor, Action: "accepted", Note: t.Note}}
	t, err := wo.Create(ctx, t)
	return printJSON(t, err)
}

func reportComplaints(ctx context.Context, wo *workorders.Service, args []string) error {
	fs := flag.NewFlagSet("report complaints", flag.ContinueOnError)
	from := fs.String("from", "", "first day, YYYY-MM-DD")
	to := fs.String("to", "", "day after the last, YYYY-MM-DD")
	format := fs.String("format", "html", "html, csv or json")
	out := fs.String("o", "", "write to this file (default stdout)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	f, t, err := days(*from, *to, "report complaints")
	if err != nil {
		return err
	}
	rep, labels, err := wo.ComplaintReport(ctx, f, t)
	if err != nil {
		return err
	}
	w := stdout
	if *out != "" {
		file, err := os.Create(*out)
		if err != nil {
			return err
		}
		defer file.Close()
		w = file
	}
	switch *format {
	case "html":
		return rep.WriteHTML(w, labels)
	case "csv":
		return rep.WriteCSV(w)
	case "json":
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(rep)
	}
	return fmt.Errorf("-format must be html, csv or json")
}

// period reads -from and -to (YYYY-MM-DD, China time; to exclusive).
func period(args []string, what string) (time.Time, time.Time, error) {
	fs := flag.NewFlagSet(what, flag.ContinueOnError)
	from := fs.String("from", "", "first day, YYYY-MM-DD")
	to := fs.String("to", "", "day after the last, YYYY-MM-DD")
	if err := fs.Parse(args); err != nil {
		return time.Time{}, time.Time{}, err
	}
	return days(*from, *to, what)
}

func days(from, to, what string) (time.Time, time.Time, error) {
	f, err1 := time.ParseInLocation("2006-01-02", from, china.Zone)
	t, err2 := time.ParseInLocation("2006-01-02", to, china.Zone)
	if err1 != nil || err2 != nil || !f.Before(t) {
		return f, t, fmt.Errorf("%s: -from and -to are YYYY-MM-DD and -from must be before -to", what)
	}
	return f, t, nil
}

func printJSON(v any, err error) error {
	if err != nil {
		return err
	}
	enc := json.NewEncoder(stdout)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	return enc.Encode(v)
}
