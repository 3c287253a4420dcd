// Package ids holds what the Redis stores of dated records (outages,
// notices) share: IDs made of a letter, the China date and a daily
// sequence, and the names (areas, transformers) that become parts of keys.
package ids

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode"

	"github.com/redis/go-redis/v9"

	"github.com/hotline95598/hotline/internal/china"
)

// MaxNameLen bounds a name that becomes part of a key.
const MaxNameLen = 128

// seqTTL keeps a day's counter a little past midnight, so a replica whose
// clock lags behind still increments yesterday's counter.
const seqTTL = 3 * 24 * time.Hour

// Day is the China date of t as the IDs and counter keys spell it.
func Day(t time.Time) string { return t.In(china.Zone).Format("20060102") }

// Next allocates the next ID of the day of now: letter, date, then the
// day's sequence (at least three digits) counted in seqKey(day). INCR and
// EXPIRE go in one MULTI, so that a counter never survives without expiry.
func Next(ctx context.Context, rdb redis.UniversalClient, letter byte, seqKey func(day string) string, now time.Time) (string, error) {
	day := Day(now)
	var incr *redis.IntCmd
	_, err := rdb.TxPipelined(ctx, func(pipe redis.Pipeliner) error {
		incr = pipe.Incr(ctx, seqKey(day))
		pipe.Expire(ctx, seqKey(day), seqTTL)
		return nil
	})
	if err != nil {
		return "", fmt.Errorf("allocate id: %w", err)
	}
	return fmt.Sprintf("%c%s%03d", letter, day, incr.Val()), nil
}

// Valid reports whether id has the shape Next gives with letter.
func Valid(id string, letter byte) bool {
	if len(id) < 12 || id[0] != letter {
		return false
	}
	for i := 1; i < len(id); i++ {
		if id[i] < '0' || id[i] > '9' {
			return false
		}
	}
	return true
}

// ErrName: a name cannot be part of a key.
var ErrName = errors.New("bad name")

// CleanName trims a name (what says which, for the error) and checks that
// it can be part of a key: bounded, no control characters. One cleaning
// for every store, so that one area name means the same to all of them.
func CleanName(what, v string) (string, error) {
	v = strings.TrimSpace(v)
	if len(v) > MaxNameLen {
		return "", fmt.Errorf("%w: %s longer than %d bytes", ErrName, what, MaxNameLen)
	}
	if strings.IndexFunc(v, unicode.IsControl) >= 0 {
		return "", fmt.Errorf("%w: %s %q has control characters", ErrName, what, v)
	}
	return v, nil
}
