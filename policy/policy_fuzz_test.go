package policy

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/hotline95598/hotline/internal/china"
)

// FuzzParse: any bytes either load as a policy or are rejected with a
// *policy.Error listing at least one problem; a loaded policy answers every
// question about its limits without panicking.
func FuzzParse(f *testing.F) {
	files, _ := filepath.Glob("testdata/*.yaml")
	files = append(files, "default.yaml", "calendar/2026.yaml")
	for _, file := range files {
		if data, err := os.ReadFile(file); err == nil {
			f.Add(data)
		}
	}
	f.Add([]byte(""))
	f.Add([]byte("version: x\n---\nversion: y\n"))
	f.Add([]byte("a: &a [*a, *a]\n"))
	f.Add([]byte("version: \"1\"\nlimits: {fault: {contact_within: 1s, answer_within: 99999 working days}}\n"))
	from := time.Date(2026, 11, 22, 14, 30, 0, 0, china.Zone)
	f.Fuzz(func(t *testing.T, data []byte) {
		// Parse runs on its own goroutine so that an input that makes it
		// hang is reported (and saved) instead of stalling the fuzzer.
		type result struct {
			p   *Policy
			err error
		}
		done := make(chan result, 1)
		go func() {
			// The name's directory is where relative calendar files are
			// read from, so the seed that names calendar_2031.yaml loads.
			p, err := Parse(bytes.NewReader(data), "testdata/fuzz.yaml")
			done <- result{p, err}
		}()
		var r result
		select {
		case r = <-done:
		case <-time.After(5 * time.Second):
			t.Fatalf("Parse did not return within 5s for %q", data)
		}
		p, err := r.p, r.err
		if err != nil {
			var pe *Error
			if !errors.As(err, &pe) || len(pe.Problems) == 0 {
				t.Fatalf("error %T %q is not a *policy.Error with problems", err, err)
			}
			if p != nil {
				t.Fatal("policy returned with an error")
			}
			return
		}
		for _, typ := range TicketTypes {
			contact, answer, ok := p.Limits(typ, "")
			if !ok {
				t.Fatalf("loaded policy has no limits for %s", typ)
			}
			for _, s := range []Span{contact, answer} {
				if s.IsZero() {
					continue
				}
				if due := p.Due(from, s); !due.After(from) {
					t.Fatalf("%s: %v from %v is due %v", typ, s, from, due)
				}
				if back, err := ParseSpan(s.String()); err != nil || back != s {
					t.Fatalf("span %+v prints as %q, reads back as %+v, %v", s, s.String(), back, err)
				}
			}
			p.Progress(typ, "x")
		}
		for _, k := range p.Callbacks().Kinds {
			_ = k
		}
		p.NextLevel("")
		p.Ladder()
		p.Warnings()
	})
}

// FuzzParseSpan: parsing never panics, and a parsed span prints in a form
// that reads back as the same span.
func FuzzParseSpan(f *testing.F) {
	for _, s := range []string{
		"45m", "24h", "90s", "1h30m", "1.5s", "3 days", "1 day", "4 working days", "1 working day", "0s", "-1h",
		"3660 days", "3661 days", "87841h", "9223372036854775807ns", "1 working", "x working days", "01 days",
		"+3 days", " 2\tdays ", "", "1 2 3 4", "1µs", "5 day", "0 working days",
	} {
		f.Add(s)
	}
	from := time.Date(2026, 2, 14, 9, 0, 0, 0, china.Zone)
	f.Fuzz(func(t *testing.T, s string) {
		sp, err := ParseSpan(s)
		if err != nil {
			if !sp.IsZero() {
				t.Fatalf("ParseSpan(%q) = %+v with error %v", s, sp, err)
			}
			return
		}
		if sp.IsZero() {
			t.Fatalf("ParseSpan(%q) gave the zero span", s)
		}
		back, err := ParseSpan(sp.String())
		if err != nil || back != sp {
			t.Fatalf("ParseSpan(%q) = %+v prints %q, reads back %+v, %v", s, sp, sp.String(), back, err)
		}
		var u Span
		if err := u.UnmarshalText([]byte(s)); err != nil || u != sp {
			t.Fatalf("UnmarshalText(%q) = %+v, %v", s, u, err)
		}
		if due := Default().Due(from, sp); !due.After(from) {
			t.Fatalf("%q from %v is due %v", s, from, due)
		}
	})
}

// FuzzDialingHours: parsing never panics; a parsed window prints as itself,
// and Next always lands on an allowed moment no earlier than t and less
// than a day later.
func FuzzDialingHours(f *testing.F) {
	for _, s := range []string{
		"08:00-21:00", "22:00-06:00", "any", " any ", "00:00-24:00", "24:00-00:00", "8:00-21:00", "08:00-08:00",
		"23:59-00:00", "08:60-09:00", "25:00-01:00", "-1:00-02:00", "08:00", "08:00-21:00-22:00", "+8:00-09:00",
		"08:00 - 21:00", "", "\x00",
	} {
		f.Add(s, int64(1795332600), int64(0))
	}
	f.Add("22:00-06:00", int64(-62135596800), int64(999999999))
	f.Add("08:00-21:00", int64(253402300799), int64(1))
	f.Fuzz(func(t *testing.T, s string, sec, nsec int64) {
		h, err := ParseDialingHours(s)
		if err != nil {
			return
		}
		if h.From < 0 || h.From >= 24*60 || h.To < 0 || h.To >= 24*60 {
			t.Fatalf("ParseDialingHours(%q) = %+v out of range", s, h)
		}
		if back, err := ParseDialingHours(h.String()); err != nil || back != h {
			t.Fatalf("ParseDialingHours(%q) = %+v prints %q, reads back %+v, %v", s, h, h.String(), back, err)
		}
		// Keep t where time arithmetic is exact (years 1..9999).
		const lo, hi = -62135596800, 253402300799
		if sec < lo || sec > hi {
			sec = lo + (sec%(hi-lo)+(hi-lo))%(hi-lo)
		}
		tm := time.Unix(sec, nsec%int64(time.Second))
		next := h.Next(tm)
		if !h.Allowed(next) {
			t.Fatalf("%s: Next(%v) = %v is not allowed", h, tm, next)
		}
		if next.Before(tm) || next.Sub(tm) > 24*time.Hour {
			t.Fatalf("%s: Next(%v) = %v", h, tm, next)
		}
	})
}
