package prompts

import (
	"strconv"
	"time"
)

// Ids of the number pieces. They are spelled out here once so that a typo is
// a compile error, and checkRequired verifies they exist in the catalogue.
const (
	idZero    = "d0"
	idYao     = "d1_yao"
	idShi     = "shi"
	idBai     = "bai"
	idQian    = "qian"
	idWan     = "wan"
	idYi      = "yi"
	idLiang   = "liang"
	idYuan    = "yuan"
	idJiao    = "jiao"
	idFen     = "fen"
	idZheng   = "zheng"
	idFu      = "fu"
	idNian    = "nian"
	idYue     = "yue"
	idRi      = "ri"
	idDian    = "dian"
	idHao     = "hao"
	idShiHour = "shi_hour"
	idFenMin  = "fen_minute"
	idDi      = "di"
	idWei     = "wei"
	idHours   = "xiaoshi"
	idMinutes = "fenzhong"
	idSeconds = "miao"
)

var digitIDs = [10]string{"d0", "d1", "d2", "d3", "d4", "d5", "d6", "d7", "d8", "d9"}

// composedIDs lists every id the functions in this file may return (plus
// the pieces callers compose by hand, such as hao and shi_hour).
func composedIDs() []string {
	ids := append([]string(nil), digitIDs[:]...)
	ids = append(ids, idYao, idShi, idBai, idQian, idWan, idYi, idLiang,
		idYuan, idJiao, idFen, idZheng, idFu, idNian, idYue, idRi,
		idDian, idHao, idShiHour, idFenMin, idDi, idWei, idHours, idMinutes, idSeconds)
	return append(ids, englishIDs()...)
}

// Digits reads s digit by digit, the way Chinese read out phone, account and
// ticket numbers: 1 is 幺 (yāo), because 一 (yī) is easily misheard as 七
// (qī) on a telephone line. Anything that is not an ASCII digit is skipped,
// so formatted numbers ("0571-8765 4321") can be passed as they are.
func Digits(s string) []string {
	ids := make([]string, 0, len(s))
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '1':
			ids = append(ids, idYao)
		case c >= '0' && c <= '9':
			ids = append(ids, digitIDs[c-'0'])
		}
	}
	return ids
}

// Integer reads n as a Mandarin cardinal number: 10 → 十, 105 → 一百零五,
// 1010 → 一千零一十, 10086 → 一万零八十六, 200 → 两百, 20000 → 两万,
// -3 → 负三.
//
// Rules, as spoken on a service line:
//   - the number is read in groups of four digits joined by 万 and 亿;
//   - one or more zeros between non-zero digits are read as a single 零,
//     trailing zeros are silent;
//   - 一十 at the very start of a number is shortened to 十 (十二, 十万),
//     but kept inside it (一百一十, 一万零一十);
//   - 2 is 两 when it is the first digit of a four-digit group and stands
//     before 百 or 千 (两百, 两千, 一万两千), and when it alone multiplies
//     万 or 亿 (两万, 两亿); everywhere else it is 二 (十二, 二十, 一千二百).
func Integer(n int64) []string {
	if n == 0 {
		return []string{idZero}
	}
	var ids []string
	if n < 0 {
		ids = append(ids, idFu)
	}
	return appendUint(ids, magnitude(n), true)
}

// magnitude returns |n| without overflowing on math.MinInt64.
func magnitude(n int64) uint64 {
	if n < 0 {
		return uint64(-(n + 1)) + 1
	}
	return uint64(n)
}

// appendUint appends the reading of u > 0. leading says whether u starts the
// whole number, which is where 一十 becomes 十.
func appendUint(ids []string, u uint64, leading bool) []string {
	const wan, yi = 1_0000, 1_0000_0000
	switch {
	case u >= yi:
		return appendScaled(ids, u/yi, u%yi, idYi, yi/10, leading)
	case u >= wan:
		return appendScaled(ids, u/wan, u%wan, idWan, wan/10, leading)
	default:
		return appendGroup(ids, int(u), leading)
	}
}

// appendScaled reads high·unit + low. A 零 bridges the two halves when low
// does not fill the place just below unit (一万零八十六, 一亿零一万); the
// multiplier may itself contain 万 (一万亿), hence the recursion.
func appendScaled(ids []string, high, low uint64, unit string, fullLow uint64, leading bool) []string {
	if high == 2 {
		ids = append(ids, idLiang)
	} else {
		ids = appendUint(ids, high, leading)
	}
	ids = append(ids, unit)
	if low == 0 {
		return ids
	}
	if low < fullLow {
		ids = append(ids, idZero)
	}
	return appendUint(ids, low, false)
}

// appendGroup reads one group of up to four digits, 1 ≤ g ≤ 9999.
func appendGroup(ids []string, g int, leading bool) []string {
	places := [4]struct {
		div  int
		unit string
	}{{1000, idQian}, {100, idBai}, {10, idShi}, {1, ""}}
	started, zero := false, false
	for _, p := range places {
		d := g / p.div % 10
		if d == 0 {
			// Remember the gap; it is spoken only if a non-zero digit
			// follows, so trailing zeros stay silent.
			zero = started
			continue
		}
		if zero {
			ids = append(ids, idZero)
			zero = false
		}
		switch {
		case d == 2 && !started && (p.unit == idQian || p.unit == idBai):
			ids = append(ids, idLiang)
		case d == 1 && !started && leading && p.unit == idShi:
			// 十二, not 一十二.
		default:
			ids = append(ids, digitIDs[d])
		}
		if p.unit != "" {
			ids = append(ids, p.unit)
		}
		started = true
	}
	return ids
}

// Money reads an amount given in fen (1 yuan = 10 jiao = 100 fen):
// 12345 → 一百二十三元四角五分, 10000 → 一百元整, 1005 → 十元零五分,
// 1050 → 十元五角, 5 → 五分, 0 → 零元, -250 → 负两元五角. Balances are
// negative when the customer is in arrears, so negative amounts are read
// with 负.
//
// A bare 2 before 元, 角 or 分 is read 两 (两元, 两角, 两分), as with any
// measure word; inside a larger number it stays 二 (十二元).
func Money(fen int64) []string {
	if fen == 0 {
		return []string{idZero, idYuan}
	}
	var ids []string
	if fen < 0 {
		ids = append(ids, idFu)
	}
	u := magnitude(fen)
	yuan, jiao, f := u/100, int(u/10%10), int(u%10)
	if yuan > 0 {
		if yuan == 2 {
			ids = append(ids, idLiang)
		} else {
			ids = appendUint(ids, yuan, true)
		}
		ids = append(ids, idYuan)
		if jiao == 0 && f == 0 {
			return append(ids, idZheng)
		}
	}
	if jiao > 0 {
		ids = append(ids, countID(jiao), idJiao)
	}
	if f > 0 {
		if yuan > 0 && jiao == 0 {
			ids = append(ids, idZero) // 十元零五分
		}
		ids = append(ids, countID(f), idFen)
	}
	return ids
}

// countID is the single digit d (1..9) as it is read before a measure word.
func countID(d int) string {
	if d == 2 {
		return idLiang
	}
	return digitIDs[d]
}

// Date reads t's calendar date in t's own location: 2026-11-22 →
// 二零二六年十一月二十二日. The year is read digit by digit with 一 (not 幺:
// 幺 belongs to phone and ticket numbers) and 零; month and day are cardinal
// numbers. Callers convert t to Asia/Shanghai first if that is what the
// caller should hear.
func Date(t time.Time) []string {
	year, month, day := t.Date()
	var ids []string
	if year < 0 {
		ids = append(ids, idFu) // never on a bill, but do not drop the sign
	}
	for _, c := range strconv.FormatUint(magnitude(int64(year)), 10) {
		ids = append(ids, digitIDs[c-'0'])
	}
	ids = append(ids, idNian)
	ids = append(ids, Integer(int64(month))...)
	ids = append(ids, idYue)
	ids = append(ids, Integer(int64(day))...)
	return append(ids, idRi)
}

// When reads a moment within the coming days the way a promised time is
// said on the line: month, day, hour, and minutes unless on the hour —
// 十一月二十二日十四时三十分. The year is left out: such times are near.
// The caller converts t to China time first.
func When(t time.Time) []string {
	_, month, day := t.Date()
	ids := append(Integer(int64(month)), idYue)
	ids = append(ids, Integer(int64(day))...)
	ids = append(ids, idRi)
	ids = append(ids, Integer(int64(t.Hour()))...)
	ids = append(ids, "shi_hour")
	if m := t.Minute(); m != 0 {
		ids = append(ids, Integer(int64(m))...)
		ids = append(ids, "fen_minute")
	}
	return ids
}

// Ordinal reads a place in a line of people: 1 → 第一位, 3 → 第三位,
// 2 → 第二位 (an ordinal keeps 二), 12 → 第十二位. n is meant to be ≥ 1.
func Ordinal(n int) []string {
	ids := append([]string{idDi}, Integer(int64(n))...)
	return append(ids, idWei)
}

// Duration reads a length of time the way a wait is announced: under a
// minute in seconds (三十秒), otherwise in hours and minutes rounded to the
// nearest minute (三分钟, 一小时二十分钟, 两小时). A zero part is left out, and
// a bare 2 before a unit is 两 (两分钟, 两小时) while 2 inside a number stays
// 二 (二十二分钟). A negative duration is read as zero seconds.
func Duration(d time.Duration) []string {
	if d < 0 {
		d = 0
	}
	secs := int64(d.Round(time.Second) / time.Second)
	if secs < 60 {
		return append(countOf(secs), idSeconds)
	}
	mins := int64(d.Round(time.Minute) / time.Minute)
	h, m := mins/60, mins%60
	var ids []string
	if h > 0 {
		ids = append(append(ids, countOf(h)...), idHours)
	}
	if m > 0 {
		ids = append(append(ids, countOf(m)...), idMinutes)
	}
	return ids
}

// countOf is n as it is read before a measure word: 两 for a bare 2.
func countOf(n int64) []string {
	if n == 2 {
		return []string{idLiang}
	}
	return Integer(n)
}
