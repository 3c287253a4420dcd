package config

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"os"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/hotline95598/hotline/internal/durable"
	"github.com/redis/go-redis/v9"
)

// RedisSecurity is how the controller authenticates to Redis and whether
// the connection is encrypted.
type RedisSecurity struct {
	Username   string // HOTLINE_REDIS_USERNAME: an ACL user (Redis 6+); empty = the default user
	Password   string // HOTLINE_REDIS_PASSWORD
	TLS        bool   // HOTLINE_REDIS_TLS
	CAFile     string // HOTLINE_REDIS_TLS_CA_FILE: PEM certificates to trust instead of the system's
	ServerName string // HOTLINE_REDIS_TLS_SERVER_NAME: name on the server certificate, default the address's host
	Insecure   bool   // HOTLINE_REDIS_TLS_INSECURE: skip certificate checks; loopback Redis only
	// SentinelPassword is the sentinels' own requirepass
	// (HOTLINE_REDIS_SENTINEL_PASSWORD); Sentinel keeps it apart from the
	// servers' password.
	SentinelPassword string
}

// validate checks the Redis security settings for the Redis at host;
// where names it in errors (e.g. `HOTLINE_REDIS_ADDR "10.0.0.7:6379"`).
//
// Our choice: a Redis beyond loopback without a password is refused. Redis
// holds every caller's number, ticket and callback, and an unprotected
// Redis on a network is also a well-known way to get code run on its host.
// A Redis on this machine (127.0.0.1, ::1, localhost) may go without one,
// as in the development and test stacks.
func (r RedisSecurity) validate(host, addr, where string) error {
	var errs []error
	bad := func(format string, a ...any) { errs = append(errs, fmt.Errorf(format, a...)) }
	loopback := isLoopbackHost(host)
	if r.Password == "" && !loopback {
		bad("HOTLINE_REDIS_PASSWORD: must be set because %s is beyond loopback (set requirepass or an ACL user on that Redis)", where)
	}
	if r.Username != "" && r.Password == "" {
		bad("HOTLINE_REDIS_USERNAME: is set but HOTLINE_REDIS_PASSWORD is empty")
	}
	if !r.TLS {
		for name, v := range map[string]bool{
			"HOTLINE_REDIS_TLS_CA_FILE":     r.CAFile != "",
			"HOTLINE_REDIS_TLS_SERVER_NAME": r.ServerName != "",
			"HOTLINE_REDIS_TLS_INSECURE":    r.Insecure,
		} {
			if v {
				bad("%s: is set but HOTLINE_REDIS_TLS is not true", name)
			}
		}
		return errors.Join(errs...)
	}
	if r.Insecure && !loopback {
		bad("HOTLINE_REDIS_TLS_INSECURE: skips certificate checks, allowed only for a loopback Redis, not %q", addr)
	}
	if r.CAFile != "" {
		if _, err := r.rootCAs(); err != nil {
			bad("HOTLINE_REDIS_TLS_CA_FILE: %v", err)
		}
	}
	return errors.Join(errs...)
}

func (r RedisSecurity) rootCAs() (*x509.CertPool, error) {
	pem, err := os.ReadFile(r.CAFile)
	if err != nil {
		return nil, err
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		return nil, fmt.Errorf("%s holds no PEM certificate", r.CAFile)
	}
	return pool, nil
}

// validateRedis checks the Redis address or the sentinels, the security
// settings and the replication figures.
func (c Config) validateRedis() error {
	var errs []error
	bad := func(format string, a ...any) { errs = append(errs, fmt.Errorf(format, a...)) }
	switch {
	case len(c.RedisSentinels) > 0 && c.RedisMaster == "":
		bad("HOTLINE_REDIS_MASTER: must name the master the sentinels watch (HOTLINE_REDIS_SENTINELS is set)")
	case len(c.RedisSentinels) == 0 && c.RedisMaster != "":
		bad("HOTLINE_REDIS_SENTINELS: must list the sentinels (host:port,...) watching HOTLINE_REDIS_MASTER %q", c.RedisMaster)
	}
	if c.RedisMaster != "" && !masterName.MatchString(c.RedisMaster) {
		bad("HOTLINE_REDIS_MASTER: %q must be 1-64 of A-Z a-z 0-9 . _ -", c.RedisMaster)
	}
	if len(c.RedisSentinels) == 0 {
		if host, _, err := net.SplitHostPort(c.RedisAddr); err != nil {
			bad("HOTLINE_REDIS_ADDR: %q is not host:port", c.RedisAddr)
		} else {
			errs = append(errs, c.Redis.validate(host, c.RedisAddr, fmt.Sprintf("HOTLINE_REDIS_ADDR %q", c.RedisAddr)))
		}
		if c.Redis.SentinelPassword != "" {
			bad("HOTLINE_REDIS_SENTINEL_PASSWORD: is set but HOTLINE_REDIS_SENTINELS is not")
		}
	} else {
		// The master is wherever the sentinels say: the servers are held
		// to the rule for the farthest sentinel, and so are the sentinels,
		// which can move the master (an open sentinel can hand the
		// hotline's data to anyone).
		seen := map[string]bool{}
		far, farHost := "", ""
		for _, a := range c.RedisSentinels {
			host, port, err := net.SplitHostPort(a)
			if n, perr := strconv.Atoi(port); err != nil || host == "" || perr != nil || n < 1 || n > 65535 {
				bad("HOTLINE_REDIS_SENTINELS: %q is not host:port", a)
				continue
			}
			if seen[a] {
				bad("HOTLINE_REDIS_SENTINELS: %s is listed twice", a)
			}
			seen[a] = true
			if far == "" && !isLoopbackHost(host) {
				far, farHost = a, host
			}
		}
		if far != "" {
			errs = append(errs, c.Redis.validate(farHost, far, fmt.Sprintf("sentinel %q in HOTLINE_REDIS_SENTINELS", far)))
			if c.Redis.SentinelPassword == "" {
				bad("HOTLINE_REDIS_SENTINEL_PASSWORD: must be set because sentinel %q is beyond loopback", far)
			}
		} else {
			errs = append(errs, c.Redis.validate("127.0.0.1", c.RedisSentinels[0], "the sentinels' Redis"))
		}
	}
	if c.RedisMinReplicas < 0 || c.RedisMinReplicas > 8 {
		bad("HOTLINE_REDIS_MIN_REPLICAS: %d is outside 0..8", c.RedisMinReplicas)
	}
	if c.RedisReplicaTimeout < 10*time.Millisecond || c.RedisReplicaTimeout > 10*time.Second {
		bad("HOTLINE_REDIS_REPLICA_TIMEOUT: %s is outside 10ms..10s", c.RedisReplicaTimeout)
	}
	return errors.Join(errs...)
}

var masterName = regexp.MustCompile(`^[A-Za-z0-9._-]{1,64}$`)

// splitList splits a comma-separated list, dropping blanks.
func splitList(v string) []string {
	var out []string
	for _, s := range strings.Split(v, ",") {
		if s = strings.TrimSpace(s); s != "" {
			out = append(out, s)
		}
	}
	return out
}

// RedisClient builds the controller's Redis client from base (timeouts,
// pool sizes): a plain client on HOTLINE_REDIS_ADDR, or, with
// HOTLINE_REDIS_SENTINELS, go-redis's failover client, which asks the
// sentinels for the master and follows a failover by itself. Both are a
// *redis.Client (so WATCH, Conn and WAIT work alike). base.ReadTimeout is
// raised, when needed, above HOTLINE_REDIS_REPLICA_TIMEOUT so a WAIT is
// never cut short by the socket.
func (c Config) RedisClient(base redis.Options) (*redis.Client, error) {
	o, err := c.RedisOptions(base)
	if err != nil {
		return nil, err
	}
	if c.RedisMinReplicas > 0 && o.ReadTimeout > 0 && o.ReadTimeout < c.RedisReplicaTimeout+time.Second {
		o.ReadTimeout = c.RedisReplicaTimeout + time.Second
	}
	if len(c.RedisSentinels) == 0 {
		return redis.NewClient(o), nil
	}
	return redis.NewFailoverClient(&redis.FailoverOptions{
		MasterName: c.RedisMaster, SentinelAddrs: c.RedisSentinels, SentinelPassword: c.Redis.SentinelPassword,
		ClientName: o.ClientName, Protocol: o.Protocol, Username: o.Username, Password: o.Password, DB: o.DB,
		MaxRetries: o.MaxRetries, MinRetryBackoff: o.MinRetryBackoff, MaxRetryBackoff: o.MaxRetryBackoff,
		DialTimeout: o.DialTimeout, ReadTimeout: o.ReadTimeout, WriteTimeout: o.WriteTimeout,
		ContextTimeoutEnabled: o.ContextTimeoutEnabled, PoolFIFO: o.PoolFIFO, PoolSize: o.PoolSize,
		PoolTimeout: o.PoolTimeout, MinIdleConns: o.MinIdleConns, MaxIdleConns: o.MaxIdleConns,
		MaxActiveConns: o.MaxActiveConns, ConnMaxIdleTime: o.ConnMaxIdleTime, ConnMaxLifetime: o.ConnMaxLifetime,
		TLSConfig: o.TLSConfig,
	}), nil
}

// RedisTarget says where the client connects, for logs and /healthz:
// the address, or the master's name and the sentinels.
func (c Config) RedisTarget() string {
	if len(c.RedisSentinels) == 0 {
		return c.RedisAddr
	}
	return fmt.Sprintf("master %q via sentinels %s", c.RedisMaster, strings.Join(c.RedisSentinels, ","))
}

// ReplicaAck is the policy for writes a caller is told about (tickets,
// callbacks): how many replicas must hold them, and how long to wait.
func (c Config) ReplicaAck() durable.Policy {
	return durable.Policy{Replicas: c.RedisMinReplicas, Timeout: c.RedisReplicaTimeout}
}

// RedisOptions fills base (timeouts, pool sizes: the caller's business) with
// the address, credentials and TLS settings of the configuration. Every
// Redis client of the controller and its tools is built through it.
func (c Config) RedisOptions(base redis.Options) (*redis.Options, error) {
	o := base
	o.Addr = c.RedisAddr
	o.Username = c.Redis.Username
	o.Password = c.Redis.Password
	if c.Redis.TLS {
		t := &tls.Config{MinVersion: tls.VersionTLS12, ServerName: c.Redis.ServerName,
			InsecureSkipVerify: c.Redis.Insecure} //nolint:gosec // loopback only, checked in validate
		if t.ServerName == "" && len(c.RedisSentinels) == 0 {
			// With sentinels the name is taken from each address dialled.
			host, _, err := net.SplitHostPort(c.RedisAddr)
			if err != nil {
				return nil, fmt.Errorf("HOTLINE_REDIS_ADDR: %w", err)
			}
			t.ServerName = host
		}
		if c.Redis.CAFile != "" {
			pool, err := c.Redis.rootCAs()
			if err != nil {
				return nil, fmt.Errorf("HOTLINE_REDIS_TLS_CA_FILE: %w", err)
			}
			t.RootCAs = pool
		}
		o.TLSConfig = t
	}
	return &o, nil
}
