package prompts

import (
	"strings"
	"testing"
	"time"
)

// englishText joins the English column of ids, as the English voice says them.
func englishText(t *testing.T, ids []string) string {
	t.Helper()
	words := make([]string, len(ids))
	for i, id := range ids {
		p, ok := byID[id]
		if !ok {
			t.Fatalf("id %q is not in the catalogue", id)
		}
		words[i] = p.English
	}
	return strings.Join(words, " ")
}

func TestEnglish(t *testing.T) {
	tests := []struct {
		n    int64
		want string
	}{
		{0, "zero"},
		{7, "seven"},
		{10, "ten"},
		{13, "thirteen"},
		{20, "twenty"},
		{21, "twenty one"},
		{99, "ninety nine"},
		{100, "one hundred"},
		{105, "one hundred five"},
		{110, "one hundred ten"},
		{999, "nine hundred ninety nine"},
		{1000, "one thousand"},
		{1001, "one thousand one"},
		{2026, "two thousand twenty six"},
		{12345, "twelve thousand three hundred forty five"},
		{100000, "one hundred thousand"},
		{1000000, "one million"},
		{1002003, "one million two thousand three"},
		{3000000000, "three billion"},
		{1234567890123, "one thousand two hundred thirty four billion five hundred sixty seven million eight hundred ninety thousand one hundred twenty three"},
		{-3, "minus three"},
	}
	for _, tt := range tests {
		if got := englishText(t, English(tt.n)); got != tt.want {
			t.Errorf("English(%d) = %q, want %q", tt.n, got, tt.want)
		}
	}
}

func TestEnglishMoney(t *testing.T) {
	tests := []struct {
		fen  int64
		want string
	}{
		{0, "zero yuan"},
		{5, "five fen"},
		{50, "fifty fen"},
		{100, "one yuan"},
		{10000, "one hundred yuan"},
		{12345, "one hundred twenty three yuan and forty five fen"},
		{1005, "ten yuan and five fen"},
		{-250, "minus two yuan and fifty fen"},
	}
	for _, tt := range tests {
		if got := englishText(t, EnglishMoney(tt.fen)); got != tt.want {
			t.Errorf("EnglishMoney(%d) = %q, want %q", tt.fen, got, tt.want)
		}
	}
}

func TestEnglishDateAndWhen(t *testing.T) {
	cst := time.FixedZone("CST", 8*3600)
	tests := []struct {
		name string
		got  []string
		want string
	}{
		{"date", EnglishDate(time.Date(2026, 11, 22, 0, 0, 0, 0, cst)), "November twenty two two thousand twenty six"},
		{"january first", EnglishDate(time.Date(2027, 1, 1, 0, 0, 0, 0, cst)), "January one two thousand twenty seven"},
		{"half past", EnglishWhen(time.Date(2026, 11, 22, 14, 30, 0, 0, cst)), "November twenty two fourteen thirty"},
		{"on the hour", EnglishWhen(time.Date(2026, 3, 8, 9, 0, 0, 0, cst)), "March eight nine o'clock"},
		{"oh five", EnglishWhen(time.Date(2026, 12, 31, 9, 5, 0, 0, cst)), "December thirty one nine oh five"},
		{"midnight", EnglishWhen(time.Date(2026, 5, 1, 0, 0, 0, 0, cst)), "May one zero o'clock"},
	}
	for _, tt := range tests {
		if got := englishText(t, tt.got); got != tt.want {
			t.Errorf("%s: %q, want %q", tt.name, got, tt.want)
		}
	}
}

func TestReadersChooseByVoice(t *testing.T) {
	when := time.Date(2026, 11, 22, 14, 30, 0, 0, time.UTC)
	for _, voice := range []string{"", VoiceSlow} {
		if got, want := Text(Count(voice, 12)), Text(Integer(12)); got != want {
			t.Errorf("Count(%q, 12) = %s, want Mandarin %s", voice, got, want)
		}
		if got, want := Text(MoneyIn(voice, 12345)), Text(Money(12345)); got != want {
			t.Errorf("MoneyIn(%q) = %s, want %s", voice, got, want)
		}
		if got, want := Text(WhenIn(voice, when)), Text(When(when)); got != want {
			t.Errorf("WhenIn(%q) = %s, want %s", voice, got, want)
		}
	}
	if got := englishText(t, Count(VoiceEnglish, 12)); got != "twelve" {
		t.Errorf("Count(English, 12) = %q", got)
	}
	if got := englishText(t, DateIn(VoiceEnglish, when)); got != "November twenty two two thousand twenty six" {
		t.Errorf("DateIn(English) = %q", got)
	}
	if got := englishText(t, MoneyIn(VoiceEnglish, 100)); got != "one yuan" {
		t.Errorf("MoneyIn(English) = %q", got)
	}
	if got := englishText(t, WhenIn(VoiceEnglish, when)); got != "November twenty two fourteen thirty" {
		t.Errorf("WhenIn(English) = %q", got)
	}
}
