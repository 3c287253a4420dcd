package service

// h14's local wiring of the call records, recordings and agent desk, for its
// own end-to-end runs until the lead wires them in service.New (see the h14
// report for the calls to make).

import (
	"context"
	"net/http"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/rs/zerolog"

	"github.com/hotline95598/hotline/agents"
	"github.com/hotline95598/hotline/cdr"
	"github.com/hotline95598/hotline/config"
	"github.com/hotline95598/hotline/desk"
	"github.com/hotline95598/hotline/policy"
	"github.com/hotline95598/hotline/recordings"
)

type deskParts struct {
	pol        *policy.Policy
	records    *cdr.Store
	fold       *cdr.Fold
	recordings *recordings.Store
	work       *desk.Work
	page       http.Handler
	log        zerolog.Logger
}

func newDeskParts(cfg config.Config, pol *policy.Policy, rdb redis.UniversalClient, reg *agents.Registry, log zerolog.Logger) deskParts {
	p := cfg.RedisPrefix
	records := cdr.New(rdb, p, pol.Records(), nil)
	return deskParts{pol: pol, records: records,
		fold:       records.NewFold(reg.EventsKey(), cfg.ReplicaID, log.With().Str("component", "stats").Logger()),
		recordings: recordings.New(rdb, p, cfg.RecordingsDir, pol.Recordings(), nil),
		work:       desk.NewWork(reg, records, rdb, p), page: desk.Handler(),
		log: log.With().Str("component", "recordings").Logger()}
}

// run starts the fold of agent events into statistics and the recordings
// sweep; both stop with ctx.
func (d deskParts) run(ctx context.Context, bg *sync.WaitGroup, replica string) {
	bg.Add(2)
	go func() { defer bg.Done(); d.fold.Run(ctx) }()
	go func() { defer bg.Done(); d.recordings.RunSweep(ctx, replica, time.Hour, d.log) }()
}
