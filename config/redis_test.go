package config

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// TestRedisPasswordAndTLS connects through RedisOptions to a real
// redis-server that wants a password and speaks only TLS, with a CA made
// here: the right settings get PONG, each wrong one is refused.
func TestRedisPasswordAndTLS(t *testing.T) {
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		if os.Getenv("HOTLINE_REQUIRE_REDIS") != "" {
			t.Fatal(err)
		}
		t.Skip("redis-server not installed")
	}
	dir := t.TempDir()
	caFile := writeTestPKI(t, dir)
	port := freeTCPPort(t)
	cmd := exec.Command(bin, "--port", "0", "--tls-port", fmt.Sprint(port), "--bind", "127.0.0.1",
		"--tls-cert-file", filepath.Join(dir, "server.pem"), "--tls-key-file", filepath.Join(dir, "server.key"),
		"--tls-ca-cert-file", caFile, "--tls-auth-clients", "no",
		"--requirepass", "s3cret-redis", "--dir", dir, "--save", "", "--appendonly", "no")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })

	addr := fmt.Sprintf("127.0.0.1:%d", port)
	good := map[string]string{"HOTLINE_REDIS_ADDR": addr, "HOTLINE_REDIS_PASSWORD": "s3cret-redis",
		"HOTLINE_REDIS_TLS": "true", "HOTLINE_REDIS_TLS_CA_FILE": caFile}
	with := func(over map[string]string) map[string]string {
		m := map[string]string{}
		for k, v := range good {
			m[k] = v
		}
		for k, v := range over {
			if v == "-" {
				delete(m, k)
			} else {
				m[k] = v
			}
		}
		return m
	}
	ping := func(vars map[string]string) error {
		c, err := Load(lookupWith(func(k string) (string, bool) { v, ok := vars[k]; return v, ok }))
		if err != nil {
			t.Fatalf("config rejected: %v", err)
		}
		o, err := c.RedisOptions(redis.Options{DialTimeout: time.Second, ReadTimeout: time.Second, MaxRetries: -1,
			// One dial: a refused handshake is the answer the cases look for,
			// and go-redis's five dials with back-off outlast the deadline on
			// a busy machine (the test then saw only "deadline exceeded").
			DialerRetries: 1})
		if err != nil {
			t.Fatal(err)
		}
		rdb := redis.NewClient(o)
		defer rdb.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		return rdb.Ping(ctx).Err()
	}
	// The server may take a moment to listen.
	deadline := time.Now().Add(10 * time.Second)
	for err := ping(good); err != nil; err = ping(good) {
		if time.Now().After(deadline) {
			t.Fatalf("right password over TLS: %v", err)
		}
		time.Sleep(50 * time.Millisecond)
	}
	for _, tc := range []struct {
		name string
		vars map[string]string
		want string
	}{
		{"wrong password", with(map[string]string{"HOTLINE_REDIS_PASSWORD": "guess"}), "WRONGPASS"},
		{"no password", with(map[string]string{"HOTLINE_REDIS_PASSWORD": "-"}), "NOAUTH"},
		{"system CAs do not know ours", with(map[string]string{"HOTLINE_REDIS_TLS_CA_FILE": "-"}), "certificate"},
		{"wrong server name", with(map[string]string{"HOTLINE_REDIS_TLS_SERVER_NAME": "redis.example"}), "certificate"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := ping(tc.vars)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v; want an error with %q", err, tc.want)
			}
		})
	}
	t.Run("plain text to a TLS port", func(t *testing.T) {
		if err := ping(with(map[string]string{"HOTLINE_REDIS_TLS": "false", "HOTLINE_REDIS_TLS_CA_FILE": "-"})); err == nil {
			t.Fatal("a plain-text client got an answer from the TLS-only server")
		}
	})
	t.Run("insecure skips the CA on loopback", func(t *testing.T) {
		if err := ping(with(map[string]string{"HOTLINE_REDIS_TLS_CA_FILE": "-", "HOTLINE_REDIS_TLS_INSECURE": "true"})); err != nil {
			t.Fatal(err)
		}
	})
}

func TestRedisOptionsWithoutTLS(t *testing.T) {
	c := Defaults()
	c.RedisAddr, c.Redis.Username, c.Redis.Password = "127.0.0.1:6390", "hotline", "pw"
	o, err := c.RedisOptions(redis.Options{DialTimeout: 3 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	if o.Addr != "127.0.0.1:6390" || o.Username != "hotline" || o.Password != "pw" || o.TLSConfig != nil || o.DialTimeout != 3*time.Second {
		t.Fatalf("options %+v", o)
	}
}

// writeTestPKI writes ca.pem, server.pem and server.key (for 127.0.0.1)
// into dir and returns the CA file's path.
func writeTestPKI(t *testing.T, dir string) string {
	t.Helper()
	key := func() *ecdsa.PrivateKey {
		k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		return k
	}
	write := func(name, typ string, der []byte) {
		if err := os.WriteFile(filepath.Join(dir, name), pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	caKey, srvKey := key(), key()
	now := time.Now()
	ca := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "hotline test CA"},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(time.Hour), IsCA: true, BasicConstraintsValid: true,
		KeyUsage: x509.KeyUsageCertSign}
	caDER, err := x509.CreateCertificate(rand.Reader, ca, ca, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	srv := &x509.Certificate{SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: "127.0.0.1"},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(time.Hour), IPAddresses: []net.IP{net.ParseIP("127.0.0.1")},
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	srvDER, err := x509.CreateCertificate(rand.Reader, srv, ca, &srvKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalECPrivateKey(srvKey)
	if err != nil {
		t.Fatal(err)
	}
	write("ca.pem", "CERTIFICATE", caDER)
	write("server.pem", "CERTIFICATE", srvDER)
	write("server.key", "EC PRIVATE KEY", keyDER)
	return filepath.Join(dir, "ca.pem")
}

func freeTCPPort(t *testing.T) int {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}
