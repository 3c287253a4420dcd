package cdr

import (
	"context"
	"encoding/csv"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/hotline95598/hotline/internal/china"
)

// CSVHeader is the header row of Export.
var CSVHeader = []string{"call_id", "kind", "phone", "start", "answer", "queue_join", "agent_answer", "end",
	"wait_s", "talk_s", "menu_path", "queue", "agent", "outcome", "end_reason", "ticket_id", "tickets",
	"callback_id", "recording_id", "survey", "wrap_up_code", "replica", "node"}

// Export writes the records matching f as CSV, oldest first: a UTF-8 BOM
// and CRLF line ends so Excel opens it with the Chinese intact, times in
// China time (YYYY-MM-DD hh:mm:ss.mmm), durations in seconds. It returns
// how many records it wrote.
func (s *Store) Export(ctx context.Context, w io.Writer, f Filter) (int, error) {
	if _, err := io.WriteString(w, "\ufeff"); err != nil {
		return 0, err
	}
	cw := csv.NewWriter(w)
	cw.UseCRLF = true
	if err := cw.Write(CSVHeader); err != nil {
		return 0, err
	}
	n := 0
	err := s.Each(ctx, f, func(r Record) error {
		n++
		if err := cw.Write(r.csvRow()); err != nil {
			return err
		}
		if n%500 == 0 {
			cw.Flush()
			return cw.Error()
		}
		return nil
	})
	cw.Flush()
	if err == nil {
		err = cw.Error()
	}
	if err != nil {
		return n, fmt.Errorf("cdr: export: %w", err)
	}
	return n, nil
}

func (r Record) csvRow() []string {
	t := func(v time.Time) string {
		if v.IsZero() {
			return ""
		}
		return v.In(china.Zone).Format("2006-01-02 15:04:05.000")
	}
	secs := func(d time.Duration) string { return strconv.FormatFloat(d.Seconds(), 'f', 1, 64) }
	return []string{r.CallID, r.Kind, cell(r.Phone), t(r.Start), t(r.Answer), t(r.QueueJoin), t(r.AgentAnswer), t(r.End),
		secs(r.Wait()), secs(r.Talk()), cell(r.MenuPath), r.Queue, cell(r.Agent), r.Outcome, r.EndReason, r.TicketID,
		strings.Join(r.Tickets, " "), r.CallbackID, r.RecordingID, r.Survey, r.WrapUpCode, cell(r.Replica), cell(r.Node)}
}

// cell defuses spreadsheet formula injection: a text cell Excel would read
// as a formula (a "+86…" number, "=…") gets a leading apostrophe.
func cell(s string) string {
	if s != "" && strings.ContainsRune("=+-@\t\r", rune(s[0])) {
		return "'" + s
	}
	return s
}
