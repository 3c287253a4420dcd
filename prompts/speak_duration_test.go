package prompts

import (
	"testing"
	"time"
)

func TestOrdinal(t *testing.T) {
	tests := []struct {
		n    int
		want string
	}{
		{1, "第一位"}, // 一, not 幺: a place, not a phone number
		{2, "第二位"}, // ordinals keep 二
		{3, "第三位"},
		{10, "第十位"},
		{12, "第十二位"},
		{20, "第二十位"},
		{101, "第一百零一位"},
		{200, "第两百位"},
	}
	for _, tt := range tests {
		if got := Text(Ordinal(tt.n)); got != tt.want {
			t.Errorf("Ordinal(%d) = %s (%v), want %s", tt.n, got, Ordinal(tt.n), tt.want)
		}
	}
}

func TestDuration(t *testing.T) {
	tests := []struct {
		d    time.Duration
		want string
	}{
		{0, "零秒"},
		{-5 * time.Second, "零秒"},
		{400 * time.Millisecond, "零秒"},
		{time.Second, "一秒"},
		{2 * time.Second, "两秒"},
		{30 * time.Second, "三十秒"},
		{59*time.Second + 400*time.Millisecond, "五十九秒"},
		{59*time.Second + 600*time.Millisecond, "一分钟"}, // rounds up to a minute
		{time.Minute, "一分钟"},
		{89 * time.Second, "一分钟"},
		{90 * time.Second, "两分钟"}, // half a minute rounds up
		{2 * time.Minute, "两分钟"},
		{3 * time.Minute, "三分钟"},
		{12 * time.Minute, "十二分钟"},
		{22 * time.Minute, "二十二分钟"},
		{time.Hour, "一小时"},
		{time.Hour + 20*time.Minute, "一小时二十分钟"},
		{time.Hour + 5*time.Minute, "一小时五分钟"},
		{2*time.Hour + 2*time.Minute, "两小时两分钟"},
		{25 * time.Hour, "二十五小时"},
	}
	for _, tt := range tests {
		if got := Text(Duration(tt.d)); got != tt.want {
			t.Errorf("Duration(%s) = %s (%v), want %s", tt.d, got, Duration(tt.d), tt.want)
		}
	}
}
