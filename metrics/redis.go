package metrics

import (
	"context"
	"time"

	"github.com/redis/go-redis/v9"
)

// RedisHook times every Redis command and pipeline into m.RedisSeconds.
func RedisHook(m *Metrics) redis.Hook { return redisTimer{m} }

type redisTimer struct{ m *Metrics }

func (redisTimer) DialHook(next redis.DialHook) redis.DialHook { return next }

func (h redisTimer) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		start := time.Now()
		err := next(ctx, cmd)
		name := cmd.Name()
		if name == "evalsha" || name == "eval" {
			name = "script" // one label for every Lua script
		}
		h.m.RedisSeconds.WithLabelValues(name).Observe(time.Since(start).Seconds())
		return err
	}
}

func (h redisTimer) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		start := time.Now()
		err := next(ctx, cmds)
		h.m.RedisSeconds.WithLabelValues("pipeline").Observe(time.Since(start).Seconds())
		return err
	}
}
