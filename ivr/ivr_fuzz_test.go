package ivr_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/hotline95598/hotline/ivr"
	"github.com/hotline95598/hotline/ivr/ivrtest"
	"github.com/rs/zerolog"
)

func allASCIIDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// wantDigitsThenHash is the reference: digits, then exactly one '#' at the end.
func wantDigitsThenHash(s string) ivr.Match {
	switch {
	case allASCIIDigits(s):
		return ivr.Incomplete
	case len(s) >= 2 && s[len(s)-1] == '#' && allASCIIDigits(s[:len(s)-1]):
		return ivr.Complete
	}
	return ivr.Invalid
}

func FuzzDigitsThenHash(f *testing.F) {
	for _, s := range [][2]string{
		{"", "1"}, {"1", "#"}, {"1234567890123456#", ""}, {"#", "1"}, {"12#", "#"}, {"12#", "3"},
		{"1*", "#"}, {"12a", "#"}, {"\xff", "#"}, {"é#", ""}, {"0#", "0"}, {"١٢#", ""}, {"12", "##"},
	} {
		f.Add(s[0], s[1])
	}
	f.Fuzz(func(t *testing.T, s, ext string) {
		got := ivr.DigitsThenHash(s)
		if want := wantDigitsThenHash(s); got != want {
			t.Fatalf("DigitsThenHash(%q) = %v, want %v", s, got, want)
		}
		// Once Invalid, always Invalid: no further key can repair it.
		for i := 1; i <= len(s); i++ {
			if ivr.DigitsThenHash(s[:i]) == ivr.Invalid && ivr.DigitsThenHash(s) != ivr.Invalid {
				t.Fatalf("prefix %q is Invalid but %q is %v", s[:i], s, ivr.DigitsThenHash(s))
			}
		}
		if got == ivr.Invalid {
			if m := ivr.DigitsThenHash(s + ext); m != ivr.Invalid {
				t.Fatalf("%q is Invalid but its extension %q is %v", s, s+ext, m)
			}
		}
		if got == ivr.Complete && ext != "" && ivr.DigitsThenHash(s+ext) != ivr.Invalid {
			t.Fatalf("%q is Complete, yet %q is not Invalid", s, s+ext)
		}
	})
}

func FuzzOneOf(f *testing.F) {
	for _, s := range [][3]string{
		{"1230*", "1", "2"}, {"1230*", "7", ""}, {"1230*", "", "1"}, {"", "1", ""}, {"#", "#", "#"},
		{"0123456789*#ABCD", "D", "1"}, {"12", "12", ""}, {"é", "é", ""}, {"a", "\x00", "a"},
	} {
		f.Add(s[0], s[1], s[2])
	}
	f.Fuzz(func(t *testing.T, keys, d, ext string) {
		m := ivr.OneOf(keys)
		got := m(d)
		if got == ivr.Incomplete {
			t.Fatalf("OneOf(%q)(%q) = Incomplete; a single-key menu is never partial", keys, d)
		}
		if got == ivr.Complete && len(d) != 1 {
			t.Fatalf("OneOf(%q)(%q) = Complete for %d bytes", keys, d, len(d))
		}
		// DTMF keys are ASCII; for them Complete means "one of keys".
		if len(d) == 1 && d[0] < 0x80 {
			if want := strings.IndexByte(keys, d[0]) >= 0; (got == ivr.Complete) != want {
				t.Fatalf("OneOf(%q)(%q) = %v, want Complete=%v", keys, d, got, want)
			}
		}
		// Prefix monotonicity (Collect never asks about the empty string).
		if d != "" && got == ivr.Invalid && m(d+ext) != ivr.Invalid {
			t.Fatalf("OneOf(%q): %q Invalid but %q is %v", keys, d, d+ext, m(d+ext))
		}
	})
}

// dtmfKeys maps fuzz bytes onto the sixteen DTMF keys.
func dtmfKeys(raw []byte) string {
	const alphabet = "0123456789*#ABCD"
	var b strings.Builder
	for _, c := range raw {
		b.WriteByte(alphabet[c%16])
	}
	return b.String()
}

// FuzzCollectAccount floods a Session with keys (during the prompt, after
// it, or as type-ahead from an announcement) while it collects an account
// number ended by '#'. Collect must end promptly, with nil, ErrInvalid or
// ErrNoInput, and never hold more than MaxDigits+1 keys.
func FuzzCollectAccount(f *testing.F) {
	for _, s := range []struct {
		mode uint8
		keys string
	}{
		{0, "1234#"}, {1, "1234#"}, {2, "1234#"}, {0, ""}, {1, "#"}, {0, "12*"}, {1, "123"},
		{0, "12345678901234567#"}, {1, "123456789012345678#"}, {2, strings.Repeat("9", 40)},
		{0, "1#2#3#"}, {2, "A"}, {1, strings.Repeat("5", 17) + "#"},
	} {
		raw := make([]byte, len(s.keys))
		for i := range s.keys {
			raw[i] = byte(strings.IndexByte("0123456789*#ABCD", s.keys[i]))
		}
		f.Add(s.mode, raw)
	}
	const maxDigits = 17
	f.Fuzz(func(t *testing.T, mode uint8, raw []byte) {
		// Timeouts on the bubble's clock: thousands of inputs cost no real wait.
		synctest.Test(t, func(t *testing.T) {
			if len(raw) > 1000 { // the fake's event buffer holds 1024
				raw = raw[:1000]
			}
			keys := dtmfKeys(raw)
			sw := ivrtest.New()
			c := ivr.Collect{Match: ivr.DigitsThenHash, Timeout: 20 * time.Millisecond, InterDigit: 20 * time.Millisecond, MaxDigits: maxDigits}
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			s := ivr.NewSession(sw, "ch1", zerolog.Nop())
			switch mode % 3 {
			case 0: // keys barge in on the prompt
				c.Media = []string{"sound:enter"}
				sw.OnPlay = func(s *ivrtest.Switch, ch, pb string, media []string) { s.Press(ch, keys) }
			case 1: // keys after a silent prompt
				sw.Press("ch1", keys)
			case 2: // keys pressed during an announcement become type-ahead
				sw.OnPlay = func(s *ivrtest.Switch, ch, pb string, media []string) { s.Press(ch, keys) }
				if err := s.Say(ctx, "sound:hello"); err != nil {
					t.Fatalf("Say: %v", err)
				}
				sw.OnPlay = nil
			}
			type result struct {
				digits string
				err    error
			}
			done := make(chan result, 1)
			start := time.Now()
			go func() {
				d, err := s.Collect(ctx, c)
				done <- result{d, err}
			}()
			var r result
			select {
			case r = <-done:
			case <-time.After(3 * time.Second):
				t.Fatalf("Collect did not return for keys %q (mode %d)", keys, mode%3)
			}
			if el := time.Since(start); el > 2*time.Second {
				t.Fatalf("Collect took %v", el)
			}
			if len(r.digits) > maxDigits+1 {
				t.Fatalf("Collect returned %d digits %q", len(r.digits), r.digits)
			}
			if !strings.HasPrefix(keys, r.digits) {
				t.Fatalf("digits %q are not a prefix of the keys %q", r.digits, keys)
			}
			// Collect stops at the first decisive key.
			for i := 1; i < len(r.digits); i++ {
				if m := ivr.DigitsThenHash(r.digits[:i]); m != ivr.Incomplete {
					t.Fatalf("Collect read past %q (%v) to %q", r.digits[:i], m, r.digits)
				}
			}
			switch {
			case r.err == nil:
				if ivr.DigitsThenHash(r.digits) != ivr.Complete || len(r.digits) > maxDigits {
					t.Fatalf("accepted %q", r.digits)
				}
			case errors.Is(r.err, ivr.ErrInvalid):
				if ivr.DigitsThenHash(r.digits) != ivr.Invalid && len(r.digits) != maxDigits+1 {
					t.Fatalf("ErrInvalid for %q", r.digits)
				}
			case errors.Is(r.err, ivr.ErrNoInput):
				if r.digits != keys || ivr.DigitsThenHash(keys) != ivr.Incomplete || len(keys) > maxDigits {
					t.Fatalf("ErrNoInput with digits %q for keys %q", r.digits, keys)
				}
			default:
				t.Fatalf("Collect(%q) error %v", keys, r.err)
			}
		})
	})
}
