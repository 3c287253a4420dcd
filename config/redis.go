package config

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"os"

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
}

// validate checks the Redis security settings for the Redis at host.
//
// Our choice: a Redis beyond loopback without a password is refused. Redis
// holds every caller's number, ticket and callback, and an unprotected
// Redis on a network is also a well-known way to get code run on its host.
// A Redis on this machine (127.0.0.1, ::1, localhost) may go without one,
// as in the development and test stacks.
func (r RedisSecurity) validate(host, addr string) error {
	var errs []error
	bad := func(format string, a ...any) { errs = append(errs, fmt.Errorf(format, a...)) }
	loopback := isLoopbackHost(host)
	if r.Password == "" && !loopback {
		bad("HOTLINE_REDIS_PASSWORD: must be set because HOTLINE_REDIS_ADDR %q is beyond loopback (set requirepass or an ACL user on that Redis)", addr)
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
		if t.ServerName == "" {
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
