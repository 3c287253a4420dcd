package policy

import (
	"strings"
	"testing"
	"time"
)

func TestParseSpan(t *testing.T) {
	tests := []struct {
		in      string
		want    Span
		str     string // canonical form; ParseSpan(str) must give want again
		wantErr string
	}{
		{in: "45m", want: Span{Unit: Clock, Clock: 45 * time.Minute}, str: "45m"},
		{in: "24h", want: Span{Unit: Clock, Clock: 24 * time.Hour}, str: "24h"},
		{in: "90s", want: Span{Unit: Clock, Clock: 90 * time.Second}, str: "1m30s"},
		{in: "1h30m", want: Span{Unit: Clock, Clock: 90 * time.Minute}, str: "1h30m"},
		{in: "1500ms", want: Span{Unit: Clock, Clock: 1500 * time.Millisecond}, str: "1.5s"},
		{in: "1 day", want: Span{Unit: CalendarDays, Days: 1}, str: "1 day"},
		{in: "7 days", want: Span{Unit: CalendarDays, Days: 7}, str: "7 days"},
		{in: "1 working day", want: Span{Unit: WorkingDays, Days: 1}, str: "1 working day"},
		{in: " 4  working   days ", want: Span{Unit: WorkingDays, Days: 4}, str: "4 working days"},
		{in: "15 working days", want: Span{Unit: WorkingDays, Days: 15}, str: "15 working days"},
		{in: "", wantErr: "bad duration"},
		{in: "4", wantErr: "bad duration"},
		{in: "4 workdays", wantErr: "bad duration"},
		{in: "4 working hours", wantErr: "bad duration"},
		{in: "four days", wantErr: "bad duration"},
		{in: "1.5 days", wantErr: "bad duration"},
		{in: "0s", wantErr: "must be positive"},
		{in: "-1h", wantErr: "must be positive"},
		{in: "0 days", wantErr: "must be positive"},
		{in: "-2 working days", wantErr: "must be positive"},
		{in: "4000 days", wantErr: "longer than"},
		{in: "100000h", wantErr: "longer than"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := ParseSpan(tt.in)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("ParseSpan(%q) = %v, %v; want error containing %q", tt.in, got, err, tt.wantErr)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("ParseSpan(%q) = %+v, %v; want %+v", tt.in, got, err, tt.want)
			}
			if got.String() != tt.str {
				t.Errorf("String() = %q, want %q", got.String(), tt.str)
			}
			back, err := ParseSpan(got.String())
			if err != nil || back != got {
				t.Errorf("round trip %q = %+v, %v", got.String(), back, err)
			}
			var u Span
			if b, _ := got.MarshalText(); u.UnmarshalText(b) != nil || u != got {
				t.Errorf("text round trip = %+v", u)
			}
		})
	}
	if (Span{}).String() != "0s" || !(Span{}).IsZero() {
		t.Error("zero Span")
	}
}
