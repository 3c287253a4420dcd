package accounts

import "strings"

// NormalizePhone reduces a phone number to the domestic digit form the
// indexes use, so that caller IDs from the switch ("+8613800138000"), typed
// numbers ("138-0013-8000") and import files agree:
//
//   - spaces, dashes, dots and brackets are removed;
//   - a leading "+86" or "0086" is removed, and a bare "86" is removed from
//     13-digit numbers that are 86 + an 11-digit mobile;
//   - a landline that came with the country code gets its trunk "0" back
//     ("+86 10 12345678" -> "01012345678").
//
// It does not validate; see ValidPhone.
func NormalizePhone(s string) string {
	// One pass can leave a prefix a second pass would strip (a country
	// code written twice: "+86 0086 138…"), so repeat to a fixed point:
	// normalising a normalised number must change nothing.
	p := normalizeOnce(s)
	for i := 0; i < 4; i++ {
		next := normalizeOnce(p)
		if next == p {
			break
		}
		p = next
	}
	return p
}

func normalizeOnce(s string) string {
	var b strings.Builder
	for _, r := range s {
		switch r {
		case ' ', '\t', '-', '.', '(', ')', '\u00a0', '\u3000':
			continue
		}
		b.WriteRune(r)
	}
	p := b.String()
	intl := false
	switch {
	case strings.HasPrefix(p, "+86"):
		p, intl = p[3:], true
	case strings.HasPrefix(p, "0086"):
		p, intl = p[4:], true
	case len(p) == 13 && strings.HasPrefix(p, "86") && isMobile(p[2:]):
		p = p[2:]
	}
	if intl && p != "" && !isMobile(p) && p[0] != '0' && !strings.HasPrefix(p, "+") {
		p = "0" + p
	}
	return p
}

// isMobile: mainland mobile numbers are 11 digits starting with 1.
func isMobile(p string) bool {
	return len(p) == 11 && p[0] == '1' && allDigits(p)
}

// ValidPhone reports whether p (already normalised) looks like a dialable
// number: 5 to 20 ASCII digits. Five allows service numbers such as 95598.
func ValidPhone(p string) bool {
	return len(p) >= 5 && len(p) <= 20 && allDigits(p)
}

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return s != ""
}
