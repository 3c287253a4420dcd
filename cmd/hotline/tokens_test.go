package main

import (
	"bytes"
	"strings"
	"testing"

	"github.com/hotline95598/hotline/config"
)

func TestTokensNew(t *testing.T) {
	var out bytes.Buffer
	if err := tokens([]string{"new", "-role", "agent", "-agent", "1001", "-name", "zhang.wei"}, &out); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	if len(lines) != 3 || !strings.HasPrefix(lines[0], "token: ") {
		t.Fatalf("output:\n%s", out.String())
	}
	tok := strings.TrimPrefix(lines[0], "token: ")
	toks, err := config.ParseTokens(strings.NewReader(lines[2]), []string{"1001"})
	if err != nil {
		t.Fatal(err)
	}
	if lines[2] != config.TokenLine(tok, config.RoleAgent, "1001", "zhang.wei") || toks[0].Role != config.RoleAgent {
		t.Fatalf("line %q does not match token %q", lines[2], tok)
	}
	for _, args := range [][]string{
		{"new", "-role", "root"},
		{"new", "-role", "agent"},
		{"new", "-role", "admin", "-agent", "1001"},
		{"new", "-role", "admin", "-name", "two words"},
		{"rotate"},
	} {
		if err := tokens(args, &out); err == nil {
			t.Errorf("%v accepted", args)
		}
	}
}
