package ivr_test

import (
	"context"
	"errors"
	"testing"
	"testing/synctest"
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
		took    time.Duration
	}{
		// Keys every 60 ms from 60 ms; the overall 250 ms runs from the
		// first key and stops the entry at 310 ms, after five keys.
		{"bounded", 250 * time.Millisecond, "12345", ivr.ErrNoInput, 310 * time.Millisecond},
		{"unbounded", 0, "12345678#", nil, 540 * time.Millisecond},
	} {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				sw := ivrtest.New()
				sess := ivr.NewSession(sw, "c1", zerolog.Nop())
				pressed := make(chan struct{})
				go func() {
					defer close(pressed)
					for _, d := range "12345678#" {
						time.Sleep(60 * time.Millisecond) // inside InterDigit
						sw.Press("c1", string(d))
					}
				}()
				start := time.Now()
				got, err := sess.Collect(context.Background(), ivr.Collect{Match: ivr.DigitsThenHash,
					Timeout: time.Second, InterDigit: 150 * time.Millisecond, MaxDigits: 16, Overall: tc.overall})
				if !errors.Is(err, tc.wantErr) || got != tc.want {
					t.Fatalf("got %q, %v; want %q, %v", got, err, tc.want, tc.wantErr)
				}
				if took := time.Since(start); took != tc.took {
					t.Fatalf("took %s, want %s", took, tc.took)
				}
				<-pressed // the keys still to come go nowhere
			})
		})
	}
}
