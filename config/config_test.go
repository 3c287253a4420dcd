package config

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// base is a valid configuration every rejection file is laid over, so each
// file proves exactly one rejection.
var base = map[string]string{
	"HOTLINE_API_TOKEN":    "test-token-123",
	"HOTLINE_ARI_PASSWORD": "pw",
}

func lookupWith(over func(string) (string, bool)) func(string) (string, bool) {
	return func(k string) (string, bool) {
		if v, ok := over(k); ok {
			return v, true
		}
		v, ok := base[k]
		return v, ok
	}
}

func TestDefaultsAreValid(t *testing.T) {
	c, err := Load(lookupWith(func(string) (string, bool) { return "", false }))
	if err != nil {
		t.Fatalf("defaults rejected: %v", err)
	}
	if c.AgentRingTimeout != 15*time.Second || c.MenuMaxFailures != 3 {
		t.Fatalf("unexpected defaults: %+v", c)
	}
}

func TestDevEnvFileIsValid(t *testing.T) {
	f, err := os.Open("../deploy/dev/hotline.env")
	if err != nil {
		t.Fatalf("open dev env: %v", err)
	}
	defer f.Close()
	lookup, err := ReadEnvFile(f, nil)
	if err != nil {
		t.Fatal(err)
	}
	c, err := Load(lookup)
	if err != nil {
		t.Fatalf("deploy/dev/hotline.env rejected: %v", err)
	}
	if len(c.AgentIDs) == 0 {
		t.Fatal("dev env configures no agents")
	}
}

// TestRejections reads one testdata file per rejection; its first line says
// which error text must appear.
func TestRejections(t *testing.T) {
	files, _ := filepath.Glob("testdata/bad_*.env")
	if len(files) < 10 {
		t.Fatalf("expected the rejection files, found %d", len(files))
	}
	for _, file := range files {
		t.Run(filepath.Base(file), func(t *testing.T) {
			raw, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			first, _, _ := strings.Cut(string(raw), "\n")
			want := strings.TrimSpace(strings.TrimPrefix(first, "# want:"))
			lookup, err := ReadEnvFile(bufio.NewReader(strings.NewReader(string(raw))), nil)
			if err == nil {
				_, err = Load(lookupWith(lookup))
			}
			if err == nil {
				t.Fatalf("accepted; want error containing %q", want)
			}
			if !strings.Contains(err.Error(), want) {
				t.Fatalf("error %q does not contain %q", err, want)
			}
		})
	}
}

func TestEnvironmentWinsOverFile(t *testing.T) {
	lookup, err := ReadEnvFile(strings.NewReader("HOTLINE_HTTP_ADDR=127.0.0.1:1\n"), func(k string) (string, bool) {
		if k == "HOTLINE_HTTP_ADDR" {
			return "127.0.0.1:2", true
		}
		return "", false
	})
	if err != nil {
		t.Fatal(err)
	}
	if v, _ := lookup("HOTLINE_HTTP_ADDR"); v != "127.0.0.1:2" {
		t.Fatalf("got %q", v)
	}
}

func TestParseAgents(t *testing.T) {
	ids, err := ParseAgents(" 1001:a, 1002:b ,")
	if err != nil || strings.Join(ids, ",") != "1001,1002" {
		t.Fatalf("got %v %v", ids, err)
	}
}

// The plain tokens whose hashes testdata/tokens_good.txt holds.
func TestTokensFile(t *testing.T) {
	vars := map[string]string{"HOTLINE_API_TOKEN": "", "HOTLINE_TOKENS_FILE": "testdata/tokens_good.txt",
		"HOTLINE_SIP_AGENTS": "1001:a,1002:b"}
	c, err := Load(lookupWith(func(k string) (string, bool) { v, ok := vars[k]; return v, ok }))
	if err != nil {
		t.Fatalf("tokens file without HOTLINE_API_TOKEN rejected: %v", err)
	}
	want := []struct{ plain, role, agent, name string }{
		{"admin-token-0000000000000001", RoleAdmin, "", "ops"},
		{"supervisor-token-00000000001", RoleSupervisor, "", "shift-lead"},
		{"agent-1001-token-000000000001", RoleAgent, "1001", "zhang.wei"},
	}
	if len(c.APITokens) != len(want) {
		t.Fatalf("got %d tokens", len(c.APITokens))
	}
	for i, w := range want {
		got := c.APITokens[i]
		if "sha256:"+hexOf(got.Hash[:]) != HashToken(w.plain) || got.Role != w.role || got.Agent != w.agent || got.Name != w.name {
			t.Errorf("token %d: %+v; want %+v", i, got, w)
		}
	}
}

func hexOf(b []byte) string { return fmt.Sprintf("%x", b) }

func TestNewTokenRoundTrip(t *testing.T) {
	tok, err := NewToken()
	if err != nil {
		t.Fatal(err)
	}
	other, _ := NewToken()
	if len(tok) < 40 || tok == other {
		t.Fatalf("weak or repeated tokens: %q %q", tok, other)
	}
	toks, err := ParseTokens(strings.NewReader(TokenLine(tok, RoleAgent, "1001", "li.na")+"\n"), []string{"1001"})
	if err != nil {
		t.Fatal(err)
	}
	if "sha256:"+hexOf(toks[0].Hash[:]) != HashToken(tok) || toks[0].Agent != "1001" || toks[0].Name != "li.na" {
		t.Fatalf("round trip: %+v", toks[0])
	}
	if _, err := ParseTokens(strings.NewReader(TokenLine(tok, RoleAdmin, "", "a")+"\n"+TokenLine(tok, RoleAdmin, "", "b")), nil); err == nil || !strings.Contains(err.Error(), "same token as line 1") {
		t.Fatalf("duplicate token: %v", err)
	}
}

// The profiler is off by default and accepted on every loopback spelling;
// testdata/bad_pprof_*.env hold its rejections.
func TestPprofAddr(t *testing.T) {
	c, err := Load(lookupWith(func(string) (string, bool) { return "", false }))
	if err != nil || c.PprofAddr != "" {
		t.Fatalf("default: %q %v; want off", c.PprofAddr, err)
	}
	for _, addr := range []string{"127.0.0.1:8193", "localhost:8193", "[::1]:8193", "127.0.0.1:0"} {
		c, err := Load(lookupWith(func(k string) (string, bool) {
			if k == "HOTLINE_PPROF_ADDR" {
				return addr, true
			}
			return "", false
		}))
		if err != nil || c.PprofAddr != addr {
			t.Errorf("%s: got %q %v", addr, c.PprofAddr, err)
		}
	}
}

// The recordings directory defaults to Asterisk's and takes a path that
// does not exist yet; testdata/bad_recordings_dir_*.env hold its rejections.
func TestRecordingsDir(t *testing.T) {
	c, err := Load(lookupWith(func(string) (string, bool) { return "", false }))
	if err != nil || c.RecordingsDir != "/var/spool/asterisk/recording" {
		t.Fatalf("default: %q %v", c.RecordingsDir, err)
	}
	dir := filepath.Join(t.TempDir(), "not-yet")
	c, err = Load(lookupWith(func(k string) (string, bool) {
		if k == "HOTLINE_RECORDINGS_DIR" {
			return dir, true
		}
		return "", false
	}))
	if err != nil || c.RecordingsDir != dir {
		t.Fatalf("got %q %v", c.RecordingsDir, err)
	}
}

// Sentinel mode waits for one replica by default, a single Redis for none,
// and an explicit figure wins either way.
func TestRedisReplicationDefaults(t *testing.T) {
	for _, tc := range []struct {
		name string
		vars map[string]string
		want int
	}{
		{"single Redis", nil, 0},
		{"sentinels", map[string]string{"HOTLINE_REDIS_SENTINELS": "127.0.0.1:26379", "HOTLINE_REDIS_MASTER": "m"}, 1},
		{"sentinels, told none", map[string]string{"HOTLINE_REDIS_SENTINELS": "127.0.0.1:26379", "HOTLINE_REDIS_MASTER": "m", "HOTLINE_REDIS_MIN_REPLICAS": "0"}, 0},
		{"single Redis with replicas", map[string]string{"HOTLINE_REDIS_MIN_REPLICAS": "2"}, 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := Load(lookupWith(func(k string) (string, bool) { v, ok := tc.vars[k]; return v, ok }))
			if err != nil {
				t.Fatal(err)
			}
			if p := c.ReplicaAck(); p.Replicas != tc.want || p.Timeout != time.Second {
				t.Fatalf("replica ack %+v; want %d replicas within 1s", p, tc.want)
			}
		})
	}
}

// The agent dial string: the agent's own endpoint on a single node, through
// the SIP edge (Kamailio) in a cluster, or a template of the operator's.
func TestAgentEndpoint(t *testing.T) {
	for _, tc := range []struct {
		name string
		vars map[string]string
		want string
	}{
		{"single node", nil, "PJSIP/1001"},
		{"agent tech", map[string]string{"HOTLINE_AGENT_TECH": "SIP"}, "SIP/1001"},
		{"edge", map[string]string{"HOTLINE_SIP_EDGE": "127.0.0.1:5060"}, "PJSIP/edge/sip:1001@127.0.0.1:5060"},
		{"template", map[string]string{"HOTLINE_SIP_EDGE": "10.1.0.5", "HOTLINE_AGENT_DIAL": "PJSIP/kam/sip:{agent}@sbc.example"}, "PJSIP/kam/sip:1001@sbc.example"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := Load(lookupWith(func(k string) (string, bool) { v, ok := tc.vars[k]; return v, ok }))
			if err != nil {
				t.Fatal(err)
			}
			if got := c.AgentEndpoint("1001"); got != tc.want {
				t.Fatalf("AgentEndpoint = %q; want %q", got, tc.want)
			}
		})
	}
}

func TestRedisTarget(t *testing.T) {
	c := Defaults()
	if c.RedisTarget() != "127.0.0.1:6379" {
		t.Fatal(c.RedisTarget())
	}
	c.RedisSentinels, c.RedisMaster = []string{"10.0.0.1:26379", "10.0.0.2:26379"}, "hotline"
	if got := c.RedisTarget(); got != `master "hotline" via sentinels 10.0.0.1:26379,10.0.0.2:26379` {
		t.Fatal(got)
	}
}
