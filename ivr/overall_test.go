package ivr_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/hotline95598/hotline/ivr"
	"github.com/hotline95598/hotline/ivr/ivrtest"
	"github.com/rs/zerolog"
)

// A caller keying one digit just inside the inter-digit timeout after
// another is stopped by the overall timeout, with what they entered; without
// it the entry runs on.
func TestCollectOverallTimeout(t *testing.T) {
	for _, tc := range []struct {
		name    string
		overall time.Duration
		want    string
		wantErr error
	}{
		{"bounded", 250 * time.Millisecond, "", ivr.ErrNoInput}, // want is checked by length below
		{"unbounded", 0, "12345678#", nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sw := ivrtest.New()
			sess := ivr.NewSession(sw, "c1", zerolog.Nop())
			go func() {
				for _, d := range "12345678#" {
					time.Sleep(60 * time.Millisecond) // inside InterDigit
					sw.Press("c1", string(d))
				}
			}()
			start := time.Now()
			got, err := sess.Collect(context.Background(), ivr.Collect{Match: ivr.DigitsThenHash,
				Timeout: time.Second, InterDigit: 150 * time.Millisecond, MaxDigits: 16, Overall: tc.overall})
			if !errors.Is(err, tc.wantErr) {
				t.Fatalf("got %q, %v; want error %v", got, err, tc.wantErr)
			}
			if tc.overall > 0 {
				// First key at ~60ms, stopped ~250ms later: 4 or 5 digits.
				if len(got) < 3 || len(got) > 6 || time.Since(start) > 600*time.Millisecond {
					t.Fatalf("got %q after %s", got, time.Since(start))
				}
			} else if got != tc.want {
				t.Fatalf("got %q, want %q", got, tc.want)
			}
		})
	}
}
