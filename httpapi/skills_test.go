package httpapi

import (
	"fmt"
	"strings"
	"testing"
)

func TestPutSkills(t *testing.T) {
	e := newEnv(t)
	for _, tc := range []struct {
		name, id, body string
		code           int
		want           string
	}{
		{"set", "1001", `{"skills":{"billing":1,"fault":2}}`, 200, "map[billing:1 fault:2]"},
		{"unknown queue", "1001", `{"skills":{"gossip":1}}`, 400, "unknown queue gossip"},
		{"level too low", "1001", `{"skills":{"billing":0}}`, 400, "level must be"},
		{"level too high", "1001", `{"skills":{"billing":10}}`, 400, "level must be"},
		{"malformed", "1001", `{"skills":[1]}`, 400, "malformed JSON"},
		{"unknown agent", "9999", `{"skills":{"billing":1}}`, 404, "unknown agent"},
		{"generalist again", "1001", `{"skills":{}}`, 200, "<nil>"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, out := e.do(t, "PUT", "/api/v1/agents/"+tc.id+"/skills", tc.body, true)
			if code != tc.code {
				t.Fatalf("code %d, want %d: %v", code, tc.code, out)
			}
			got := fmt.Sprint(out["error"])
			if code == 200 {
				got = fmt.Sprint(out["skills"])
			}
			if !strings.Contains(got, tc.want) {
				t.Fatalf("got %s, want %s", got, tc.want)
			}
		})
	}
}
