package httpapi

import (
	"math"
	"sync"
	"time"
)

// RateLimit bounds each caller of the API with a token bucket: Burst
// requests at once, refilled at PerSecond. The zero value means no limit.
type RateLimit struct {
	PerSecond float64 // HOTLINE_API_RATE
	Burst     int     // HOTLINE_API_BURST
	// Now is the clock; nil is time.Now. Tests inject their own.
	Now func() time.Time
}

// maxBuckets bounds the limiter's memory against a flood of client
// addresses: beyond it, buckets that have refilled are forgotten (a full
// bucket is the same as none).
const maxBuckets = 10000

type bucket struct {
	tokens float64
	at     time.Time
}

type limiter struct {
	cfg     RateLimit
	mu      sync.Mutex
	buckets map[string]*bucket
}

func newLimiter(c RateLimit) *limiter {
	if c.PerSecond <= 0 || c.Burst < 1 {
		return nil
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	return &limiter{cfg: c, buckets: map[string]*bucket{}}
}

// allow takes one request from key's bucket. When the bucket is empty it
// says how many whole seconds until the next request would be allowed.
func (l *limiter) allow(key string) (retryAfter int, ok bool) {
	if l == nil {
		return 0, true
	}
	now := l.cfg.Now()
	burst := float64(l.cfg.Burst)
	l.mu.Lock()
	defer l.mu.Unlock()
	b := l.buckets[key]
	if b == nil {
		if len(l.buckets) >= maxBuckets {
			l.forgetFull(now)
		}
		b = &bucket{tokens: burst, at: now}
		l.buckets[key] = b
	}
	if elapsed := now.Sub(b.at).Seconds(); elapsed > 0 {
		b.tokens = math.Min(burst, b.tokens+elapsed*l.cfg.PerSecond)
		b.at = now
	}
	if b.tokens >= 1 {
		b.tokens--
		return 0, true
	}
	wait := math.Ceil((1 - b.tokens) / l.cfg.PerSecond)
	return int(math.Max(1, wait)), false
}

func (l *limiter) forgetFull(now time.Time) {
	burst := float64(l.cfg.Burst)
	for k, b := range l.buckets {
		if b.tokens+now.Sub(b.at).Seconds()*l.cfg.PerSecond >= burst {
			delete(l.buckets, k)
		}
	}
}
