package config

import (
	"net"
	"os"
	"strings"
	"testing"
)

// FuzzReadEnvFileLoad feeds arbitrary text through ReadEnvFile and Load: they
// must never panic, and a configuration Load accepts must pass Validate.
func FuzzReadEnvFileLoad(f *testing.F) {
	if dev, err := os.ReadFile("../deploy/dev/hotline.env"); err == nil {
		f.Add(string(dev))
	}
	for _, s := range []string{
		"",
		"# only a comment\n",
		"HOTLINE_API_TOKEN=test-token-123\nHOTLINE_ARI_PASSWORD=pw\n",
		"export HOTLINE_API_TOKEN='quoted-token-1'\nHOTLINE_ARI_PASSWORD=\"pw\"\n",
		"HOTLINE_API_TOKEN=\"\nHOTLINE_ARI_PASSWORD='\n",
		"HOTLINE_HTTP_ADDR=0.0.0.0:8080\nHOTLINE_API_TOKEN=dev-token-change-me\nHOTLINE_ARI_PASSWORD=hotline-dev\n",
		"HOTLINE_HTTP_ADDR=[::1]:8080\nHOTLINE_API_TOKEN=dev-token-change-me\nHOTLINE_ARI_PASSWORD=hotline-test\n",
		"HOTLINE_HTTP_ADDR=localhost:80\nHOTLINE_API_TOKEN=abcdefgh\nHOTLINE_ARI_PASSWORD=x\n",
		"HOTLINE_HTTP_ADDR=:8080\nHOTLINE_API_TOKEN=0123456789abcdefghijklmn\nHOTLINE_ARI_PASSWORD=x\n",
		"HOTLINE_HTTP_ADDR=[fe80::1%eth0]:1\nHOTLINE_API_TOKEN=0123456789abcdefghijklmn\nHOTLINE_ARI_PASSWORD=x\n",
		"HOTLINE_SIP_AGENTS=1001:a,1001:b\n",
		"HOTLINE_API_TOKEN=test-token-123\nHOTLINE_ARI_PASSWORD=pw\nHOTLINE_PPROF_ADDR=[::1]:6060\n",
		"HOTLINE_API_TOKEN=test-token-123\nHOTLINE_ARI_PASSWORD=pw\nHOTLINE_PPROF_ADDR=0.0.0.0:6060\n",
		"HOTLINE_SIP_AGENTS=,,:,a:\n",
		"HOTLINE_MENU_TIMEOUT=9223372036854775807ns\nHOTLINE_MENU_MAX_FAILURES=-9223372036854775808\n",
		"HOTLINE_ARI_URL=http://[::1\nHOTLINE_REDIS_ADDR=::::\n",
		"=value\n",
		"KEY\n",
		"export =\n",
		"A=" + strings.Repeat("x", 70000) + "\n", // longer than bufio.Scanner's line limit
		"\xff\xfe=\x00\r\nHOTLINE_API_TOKEN=\t \n",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, file string) {
		lookup, err := ReadEnvFile(strings.NewReader(file), nil)
		if err != nil {
			if lookup != nil {
				t.Fatalf("ReadEnvFile returned a lookup with error %v", err)
			}
			return
		}
		c, err := Load(lookup)
		if err != nil {
			if !strings.HasPrefix(err.Error(), "configuration: ") {
				t.Fatalf("error without the configuration prefix: %v", err)
			}
			return
		}
		if err := c.Validate(); err != nil {
			t.Fatalf("Load accepted a configuration Validate rejects: %v", err)
		}
		host, _, err := net.SplitHostPort(c.HTTPAddr)
		if err != nil {
			t.Fatalf("accepted HOTLINE_HTTP_ADDR %q: %v", c.HTTPAddr, err)
		}
		loopback := strings.EqualFold(host, "localhost") || host == "::1" || strings.HasPrefix(host, "127.") ||
			strings.HasPrefix(host, "::ffff:127.") || strings.HasPrefix(host, "0:0:0:0:0:")
		if !loopback && (c.APIToken == DevAPIToken || len(c.APIToken) < 24 || c.ARIPassword == "hotline-dev" || c.ARIPassword == "hotline-test") {
			t.Fatalf("weak secrets accepted on %q: token %q, ARI password %q", c.HTTPAddr, c.APIToken, c.ARIPassword)
		}
		if c.PprofAddr != "" {
			if h, _, err := net.SplitHostPort(c.PprofAddr); err != nil || !(strings.EqualFold(h, "localhost") || net.ParseIP(h) != nil && net.ParseIP(h).IsLoopback()) {
				t.Fatalf("profiler accepted beyond loopback: %q", c.PprofAddr)
			}
		}
		// A second environment overriding nothing must not change the result.
		again, err := ReadEnvFile(strings.NewReader(file), func(string) (string, bool) { return "", false })
		if err != nil {
			t.Fatalf("second read failed: %v", err)
		}
		if c2, err := Load(again); err != nil || c2.HTTPAddr != c.HTTPAddr || c2.APIToken != c.APIToken {
			t.Fatalf("reading the same file twice differs: %+v %v", c2, err)
		}
	})
}

// TestLoopbackKeepsDevSecrets: the development values keep working on every
// loopback spelling; only listening beyond loopback refuses them.
func TestLoopbackKeepsDevSecrets(t *testing.T) {
	for _, addr := range []string{"127.0.0.1:8080", "localhost:8080", "LocalHost:1", "[::1]:8080", "127.0.0.2:9"} {
		env := map[string]string{
			"HOTLINE_HTTP_ADDR":    addr,
			"HOTLINE_API_TOKEN":    DevAPIToken,
			"HOTLINE_ARI_PASSWORD": "hotline-dev",
		}
		if _, err := Load(mapLookup(env)); err != nil {
			t.Errorf("%s: dev secrets on loopback rejected: %v", addr, err)
		}
	}
	for _, addr := range []string{"0.0.0.0:8080", ":8080", "[::]:8080", "192.168.1.10:8080", "hotline.example:8080"} {
		env := map[string]string{
			"HOTLINE_HTTP_ADDR":    addr,
			"HOTLINE_API_TOKEN":    DevAPIToken,
			"HOTLINE_ARI_PASSWORD": "hotline-test",
		}
		_, err := Load(mapLookup(env))
		if err == nil || !strings.Contains(err.Error(), "HOTLINE_API_TOKEN: is the development token") ||
			!strings.Contains(err.Error(), "HOTLINE_ARI_PASSWORD: \"hotline-test\" is a sample password") {
			t.Errorf("%s: want both dev secrets refused, got %v", addr, err)
		}
		env["HOTLINE_API_TOKEN"] = "k7Qw2rN9xT4mZ8pL3vB6yH1c"
		env["HOTLINE_ARI_PASSWORD"] = "a-real-password"
		if _, err := Load(mapLookup(env)); err != nil {
			t.Errorf("%s: strong secrets rejected: %v", addr, err)
		}
	}
}

func mapLookup(m map[string]string) func(string) (string, bool) {
	return func(k string) (string, bool) { v, ok := m[k]; return v, ok }
}
