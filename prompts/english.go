package prompts

import "time"

// English number pieces: the words an English number needs beyond the
// digits (d0–d9 read "zero" to "nine" in the English voice). Each is in the
// catalogue with its Mandarin reading too, like every prompt, but only the
// English voice uses them.
const (
	idEnHundred  = "en_hundred"
	idEnThousand = "en_thousand"
	idEnMillion  = "en_million"
	idEnBillion  = "en_billion"
	idEnAnd      = "en_and"
	idEnOClock   = "en_oclock"
	idEnOh       = "en_oh"
	idEnMinus    = "en_minus"
)

// enTeens are 10–19, enTens 20, 30, … 90 (index 2–9), enMonths January to
// December (index 1–12).
var (
	enTeens  = [10]string{"en_10", "en_11", "en_12", "en_13", "en_14", "en_15", "en_16", "en_17", "en_18", "en_19"}
	enTens   = [10]string{"", "", "en_20", "en_30", "en_40", "en_50", "en_60", "en_70", "en_80", "en_90"}
	enMonths = [13]string{"", "en_jan", "en_feb", "en_mar", "en_apr", "en_may", "en_jun",
		"en_jul", "en_aug", "en_sep", "en_oct", "en_nov", "en_dec"}
)

// englishIDs lists every id the English readers may return besides the
// digits and the units shared with Mandarin (yuan, fen).
func englishIDs() []string {
	ids := []string{idEnHundred, idEnThousand, idEnMillion, idEnBillion, idEnAnd, idEnOClock, idEnOh, idEnMinus}
	ids = append(ids, enTeens[:]...)
	ids = append(ids, enTens[2:]...)
	return append(ids, enMonths[1:]...)
}

// English reads n as an English cardinal number, the way a caller expects
// to hear it rather than digit by digit: 21 → twenty one, 105 → one hundred
// five, 2026 → two thousand twenty six, 1000000 → one million, -3 → minus
// three.
func English(n int64) []string {
	if n == 0 {
		return []string{idZero}
	}
	var ids []string
	if n < 0 {
		ids = append(ids, idEnMinus)
	}
	u := magnitude(n)
	scales := [...]struct {
		size uint64
		word string
	}{{1_000_000_000, idEnBillion}, {1_000_000, idEnMillion}, {1000, idEnThousand}}
	for _, s := range scales {
		if u >= s.size {
			// Above a billion the multiplier is itself read with scales.
			if high := u / s.size; high >= 1000 {
				ids = append(ids, English(int64(high))...)
			} else {
				ids = appendEnglishHundreds(ids, int(high))
			}
			ids = append(ids, s.word)
			u %= s.size
		}
	}
	if u > 0 {
		ids = appendEnglishHundreds(ids, int(u))
	}
	return ids
}

// appendEnglishHundreds reads 1 ≤ n ≤ 999.
func appendEnglishHundreds(ids []string, n int) []string {
	if h := n / 100; h > 0 {
		ids = append(ids, digitIDs[h], idEnHundred)
	}
	switch r := n % 100; {
	case r == 0:
	case r < 10:
		ids = append(ids, digitIDs[r])
	case r < 20:
		ids = append(ids, enTeens[r-10])
	default:
		ids = append(ids, enTens[r/10])
		if r%10 != 0 {
			ids = append(ids, digitIDs[r%10])
		}
	}
	return ids
}

// EnglishMoney reads an amount in fen: 12345 → one hundred twenty three
// yuan and forty five fen, 10000 → one hundred yuan, 5 → five fen,
// -250 → minus two yuan and fifty fen. Jiao are folded into fen, as an
// English speaker would count cents.
func EnglishMoney(fen int64) []string {
	if fen == 0 {
		return []string{idZero, idYuan}
	}
	var ids []string
	if fen < 0 {
		ids = append(ids, idEnMinus)
	}
	u := magnitude(fen)
	yuan, rest := u/100, int64(u%100)
	if yuan > 0 {
		ids = append(append(ids, English(int64(yuan))...), idYuan)
		if rest == 0 {
			return ids
		}
		ids = append(ids, idEnAnd)
	}
	return append(append(ids, English(rest)...), idFen)
}

// EnglishDate reads a calendar date in t's location: 2026-11-22 →
// November twenty two, two thousand twenty six.
func EnglishDate(t time.Time) []string {
	year, month, day := t.Date()
	ids := append([]string{enMonths[month]}, English(int64(day))...)
	return append(ids, English(int64(year))...)
}

// EnglishWhen reads a moment in the coming days: November twenty two,
// fourteen thirty; on the hour, fourteen o'clock; 9:05 is nine oh five.
// The caller converts t to China time first, as for When.
func EnglishWhen(t time.Time) []string {
	_, month, day := t.Date()
	ids := append([]string{enMonths[month]}, English(int64(day))...)
	ids = append(ids, English(int64(t.Hour()))...)
	switch m := t.Minute(); {
	case m == 0:
		ids = append(ids, idEnOClock)
	case m < 10:
		ids = append(ids, idEnOh, digitIDs[m])
	default:
		ids = append(ids, English(int64(m))...)
	}
	return ids
}

// The readers below choose by voice: the English voice gets the English
// grammar, the Mandarin voices (normal and slow) the Mandarin one.

// Count reads a cardinal number in voice.
func Count(voice string, n int64) []string {
	if voice == VoiceEnglish {
		return English(n)
	}
	return Integer(n)
}

// MoneyIn reads an amount in fen in voice.
func MoneyIn(voice string, fen int64) []string {
	if voice == VoiceEnglish {
		return EnglishMoney(fen)
	}
	return Money(fen)
}

// DateIn reads a calendar date in voice.
func DateIn(voice string, t time.Time) []string {
	if voice == VoiceEnglish {
		return EnglishDate(t)
	}
	return Date(t)
}

// WhenIn reads a near moment in voice.
func WhenIn(voice string, t time.Time) []string {
	if voice == VoiceEnglish {
		return EnglishWhen(t)
	}
	return When(t)
}
