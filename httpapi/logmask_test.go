package httpapi

import (
	"bytes"
	"net/http"
	"strings"
	"testing"

	"github.com/rs/zerolog"
)

// The request log names the path only: a phone number in the query (or a
// token in the header) never reaches the log, whatever the answer.
func TestRequestLogHidesPhoneAndToken(t *testing.T) {
	var logs bytes.Buffer
	e := newEnvWith(t, func(d *Deps) { d.Log = zerolog.New(&logs); d.Tokens = testTokens(t) })
	for _, tok := range []string{token, agent1001Token, "wrong-token-13800138000"} {
		req, _ := http.NewRequest("GET", e.srv.URL+"/api/v1/tickets?phone=13800138000", nil)
		req.Header.Set("Authorization", "Bearer "+tok)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
	}
	out := logs.String()
	if strings.Count(out, `"path":"/api/v1/tickets"`) != 3 {
		t.Fatalf("expected three request lines:\n%s", out)
	}
	for _, secret := range []string{"13800138000", "8000138", token, agent1001Token} {
		if strings.Contains(out, secret) {
			t.Fatalf("log holds %q:\n%s", secret, out)
		}
	}
}
