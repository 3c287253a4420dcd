package service

import (
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/rs/zerolog"

	"github.com/hotline95598/hotline/accounts"
	"github.com/hotline95598/hotline/callbacks"
	"github.com/hotline95598/hotline/cdr"
	"github.com/hotline95598/hotline/config"
	"github.com/hotline95598/hotline/metrics"
	"github.com/hotline95598/hotline/notices"
	"github.com/hotline95598/hotline/outages"
	"github.com/hotline95598/hotline/policy"
	"github.com/hotline95598/hotline/recordings"
	"github.com/hotline95598/hotline/tickets"
	"github.com/hotline95598/hotline/workorders"
)

// stores are the hotline's records in Redis and the back office's rules
// over them: what the controller and the command-line tools share. They are
// built here once, the same way for both.
type stores struct {
	pol       *policy.Policy
	rdb       redis.UniversalClient
	tickets   *tickets.Store
	accounts  *accounts.Store
	callbacks *callbacks.Store
	outages   *outages.Store
	notices   *notices.Store
	orders    *workorders.Service
	records   *cdr.Store        // one record per call, statistics
	recs      *recordings.Store // agent calls' recordings and their index
}

// loadPolicy reads HOTLINE_POLICY_FILE, or takes the built-in policy.
func loadPolicy(cfg config.Config) (*policy.Policy, error) {
	if cfg.PolicyFile == "" {
		return policy.Default(), nil
	}
	pol, err := policy.Load(cfg.PolicyFile)
	if err != nil {
		return nil, fmt.Errorf("HOTLINE_POLICY_FILE: %w", err)
	}
	return pol, nil
}

// openStores connects to Redis (password and TLS from HOTLINE_REDIS_*) and
// builds the stores; m counts what they do (metrics.Discard() for tools).
func openStores(cfg config.Config, m *metrics.Metrics, log zerolog.Logger) (*stores, error) {
	pol, err := loadPolicy(cfg)
	if err != nil {
		return nil, err
	}
	// A plain client, or through Sentinel (HOTLINE_REDIS_SENTINELS).
	rdb, err := cfg.RedisClient(redis.Options{DialTimeout: 2 * time.Second,
		ReadTimeout: 2 * time.Second, WriteTimeout: 2 * time.Second, MaxRetries: 2})
	if err != nil {
		return nil, err
	}
	rdb.AddHook(metrics.RedisHook(m))
	p := cfg.RedisPrefix
	st := &stores{pol: pol, rdb: rdb}
	st.tickets = tickets.New(rdb, p, nil)
	st.tickets.SetTaxonomy(pol)
	st.tickets.SetReplicaAck(cfg.ReplicaAck()) // what a caller is told survives a failover
	st.accounts = accounts.New(rdb, p)
	st.callbacks = callbacks.NewStore(rdb, p, pol.Callbacks(), nil)
	st.callbacks.SetReplicaAck(cfg.ReplicaAck())
	st.outages = outages.New(rdb, p, nil)
	st.notices = notices.New(rdb, p, nil)
	st.records = cdr.New(rdb, p, pol.Records(), nil)
	st.records.SetServiceLevel(pol.ServiceLevel())
	st.recs = recordings.New(rdb, p, cfg.RecordingsDir, pol.Recordings(), nil)
	st.orders = workorders.New(st.tickets, pol, st.callbacks, st.outages, rdb, p, cfg.ReplicaID,
		workorders.Config{WatchEvery: cfg.EscalationPoll}, m, log.With().Str("component", "workorders").Logger(), nil)
	return st, nil
}

// Backoffice builds the work-order service alone, for the command line:
// the same stores and policy as the controller, without calls.
func Backoffice(cfg config.Config, log zerolog.Logger) (*workorders.Service, func(), error) {
	st, err := openStores(cfg, metrics.Discard(), log)
	if err != nil {
		return nil, nil, err
	}
	return st.orders, func() { _ = st.rdb.Close() }, nil
}
