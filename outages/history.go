package outages

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
)

// History returns the outages, active or cleared, declared with the given
// area that started at or after since (zero: all), oldest first.
// Transformer-only outages (no area) are not in any area's history.
func (s *Store) History(ctx context.Context, area string, since time.Time) ([]Outage, error) {
	area = strings.TrimSpace(area)
	if area == "" {
		return nil, fmt.Errorf("%w: area required", ErrInvalid)
	}
	rng := redis.ZRangeBy{Min: "-inf", Max: "+inf"}
	if !since.IsZero() {
		rng.Min = fmt.Sprint(since.UnixMilli())
	}
	ids, err := s.rdb.ZRangeByScore(ctx, s.historyAreaKey(area), &rng).Result()
	if err != nil {
		return nil, fmt.Errorf("outages: history %s: %w", area, err)
	}
	outs, err := s.load(ctx, ids)
	if err != nil {
		return nil, err
	}
	// The index is ordered by milliseconds; settle ties by start then ID.
	sort.SliceStable(outs, func(i, j int) bool {
		if !outs[i].StartedAt.Equal(outs[j].StartedAt) {
			return outs[i].StartedAt.Before(outs[j].StartedAt)
		}
		return outs[i].ID < outs[j].ID
	})
	return outs, nil
}

// Frequency counts outages per transformer, e.g. over a year of History,
// for the rule that a line with 2 outages a year gets a warning and one
// with 3 or more a special study (the thresholds are policy values and
// belong to the caller). Outages without a transformer are not counted.
func Frequency(outs []Outage) map[string]int {
	n := make(map[string]int)
	for _, o := range outs {
		if o.Transformer != "" {
			n[o.Transformer]++
		}
	}
	return n
}

// Since returns every outage, active or cleared, that started at or after
// since, oldest first: a year of them for the early warning on lines and
// transformers with repeated outages. (Outages declared before the
// outages:all index existed are not in it.)
func (s *Store) Since(ctx context.Context, since time.Time) ([]Outage, error) {
	ids, err := s.rdb.ZRangeByScore(ctx, s.allKey(), &redis.ZRangeBy{Min: fmt.Sprint(since.UnixMilli()), Max: "+inf"}).Result()
	if err != nil {
		return nil, fmt.Errorf("outages: since: %w", err)
	}
	var out []Outage
	for len(ids) > 0 {
		n := min(len(ids), 500)
		page, err := s.load(ctx, ids[:n])
		if err != nil {
			return nil, err
		}
		out = append(out, page...)
		ids = ids[n:]
	}
	return out, nil
}

// Place is a line or a transformer.
type Place struct {
	Kind string `json:"kind"` // "line" or "transformer"
	Name string `json:"name"`
}

// Repeats counts outages per line and per transformer (an outage with both
// counts for both). The early-warning rule (a warning at 2 a year, a
// special study at 3; policy values) reads these counts.
func Repeats(outs []Outage) map[Place]int {
	n := map[Place]int{}
	for _, o := range outs {
		if o.Transformer != "" {
			n[Place{"transformer", o.Transformer}]++
		}
		if o.Line != "" {
			n[Place{"line", o.Line}]++
		}
	}
	return n
}
