package httpapi

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hotline95598/hotline/callflow"
	"github.com/hotline95598/hotline/menus"
)

// The menu is reloaded through the API by an admin only; a broken file is
// refused with its problems by line and the running menu stays.
func TestIVRReload(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "ivr.yaml")
	good := string(menus.DefaultYAML())
	if err := os.WriteFile(file, []byte(good), 0o644); err != nil {
		t.Fatal(err)
	}
	h := menus.NewHolder(nil, callflow.MenuNames(), nil)
	if _, err := h.Reload(file); err != nil {
		t.Fatal(err)
	}
	e := newEnvWith(t, func(d *Deps) { d.Tokens = testTokens(t); d.IVR = h })

	code, body, _ := e.as(t, supervisorToken, "POST", "/api/v1/ivr/reload", "")
	if code != 403 || !strings.Contains(body, "needs role admin") {
		t.Fatalf("supervisor reload: %d %s", code, body)
	}
	if code, body, _ = e.as(t, supervisorToken, "GET", "/api/v1/ivr", ""); code != 200 || !strings.Contains(body, `"version":"`+h.Load().Version+`"`) {
		t.Fatalf("get menu: %d %s", code, body)
	}

	changed := strings.Replace(good, `version: "`+h.Load().Version+`"`, `version: "test.2"`, 1)
	if err := os.WriteFile(file, []byte(changed), 0o644); err != nil {
		t.Fatal(err)
	}
	if code, body, _ = e.as(t, token, "POST", "/api/v1/ivr/reload", ""); code != 200 || !strings.Contains(body, `"version":"test.2"`) {
		t.Fatalf("reload: %d %s", code, body)
	}

	broken := strings.Replace(changed, "prompts: goodbye", "prompts: good_bye", 1)
	if err := os.WriteFile(file, []byte(broken), 0o644); err != nil {
		t.Fatal(err)
	}
	code, body, _ = e.as(t, token, "POST", "/api/v1/ivr/reload", "")
	if code != 422 || !strings.Contains(body, `unknown prompt id \"good_bye\"`) || !strings.Contains(body, `"line":`) ||
		!strings.Contains(body, `"running":{`) || !strings.Contains(body, `"version":"test.2"`) {
		t.Fatalf("broken reload: %d %s", code, body)
	}
	if v := h.Load().Version; v != "test.2" {
		t.Fatalf("running menu %s after a refused reload", v)
	}
}
