package config

import (
	"bufio"
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
