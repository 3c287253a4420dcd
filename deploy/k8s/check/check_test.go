package check

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// load reads a tree; the operator's Secrets come from deploy/k8s/README.md.
func load(t *testing.T, root string) *Input {
	t.Helper()
	repo, err := RepoRoot(".")
	if err != nil {
		t.Fatal(err)
	}
	in, err := Load(repo, root, filepath.Join("..", "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	return in
}

// TestManifests applies every rule to deploy/k8s: the base and every
// overlay.
func TestManifests(t *testing.T) {
	in := load(t, "..")
	if len(in.Builds) < 2 {
		t.Fatalf("built %d kustomizations, want the base and at least one overlay", len(in.Builds))
	}
	for _, r := range Rules {
		t.Run(r.Name, func(t *testing.T) {
			for _, p := range r.Check(in) {
				t.Error(p)
			}
		})
	}
}

// brokenCases each break one rule in a copy of the manifests (an overlay on
// the real base in testdata/NAME). The rule must report a problem that
// contains want, and every other rule must stay silent, so each case fails
// for its own reason.
var brokenCases = []struct {
	dir, rule, want string
}{
	{"unknown-field", "decode", `unknown field "spec.template.spec.containers[0].resourcez"`},
	{"selector-mismatch", "api", "does not match its pod template's labels"},
	{"not-headless", "api", "Service redis-sentinel is not headless"},
	{"no-limits", "resources", "container prometheus: no cpu limit"},
	{"init-no-requests", "resources", "init container config: no memory request"},
	{"no-readiness", "probes", "container kamailio: no readiness probe"},
	{"controller-probe-path", "probes", "liveness probe must be an HTTP GET of /healthz"},
	{"controller-probe-port", "probes", "readiness probe asks port 9090, but HOTLINE_HTTP_ADDR listens on 8080"},
	{"image-latest", "images", `"redis:latest" uses the tag latest`},
	{"image-untagged", "images", `"prom/prometheus" has no tag`},
	{"dev-secret", "devsecrets", `kustomize build . holds the development secret "dev-token-change-me"`},
	{"dev-agent-secret", "devsecrets", `kustomization.yaml holds the development secret "secret1001"`},
	{"undocumented-secret", "secretrefs", "Secret hotline-ari-missing is neither in the manifests nor in README.md's Secrets table"},
	{"undocumented-key", "secretrefs", `key "pass" of Secret hotline-redis is not in README.md's Secrets table`},
	{"literal-secret", "secretrefs", "HOTLINE_API_TOKEN holds a secret and must come from a Secret"},
	{"secret-in-manifests", "secretrefs", "Secret hotline-ari carries values in the manifests"},
	{"missing-configmap-key", "configrefs", `has no key "SIP_EDGE_ADDR"`},
	{"missing-configmap", "configrefs", "ConfigMap hotline-sites is not in the manifests"},
	{"missing-script", "configrefs", "names /scripts/redis-init.sh"},
	{"no-sentinels", "controllerenv", "HOTLINE_REDIS_SENTINELS is not set"},
	{"sentinel-missing", "controllerenv", "names 2 of the 3 pods of StatefulSet redis-sentinel"},
	{"sentinel-port", "controllerenv", "no container of StatefulSet redis-sentinel declares port 6379"},
	{"unknown-variable", "controllerenv", "HOTLINE_REDIS_SENTINEL (value) is not a variable the hotline reads"},
	{"loopback-http", "controllerenv", "listens on loopback"},
	{"rules-drift", "prometheus", "alerts.yml differs from deploy/prometheus/rules/alerts.yml"},
	{"scrape-wrong-port", "prometheus", "does not scrape the controller asterisk-0.asterisk:8080"},
	{"scrape-job-name", "prometheus", `no scrape job "hotline"`},
	{"promtool-rejects", "prometheus", "promtool check config"},
	{"dispatcher-scaled", "dispatcher", "the node sip:asterisk-2.asterisk:5070 is missing"},
	{"dispatcher-unknown-node", "dispatcher", "sip:asterisk-5.asterisk:5070 is not a pod"},
	{"dispatcher-no-flag", "dispatcher", "line 2: sip:asterisk-1.asterisk:5070 lacks flag 16"},
	{"orphan-file", "orphans", "unused.yaml is in kustomization . but not used by it"},
}

func TestBrokenManifests(t *testing.T) {
	for _, tc := range brokenCases {
		t.Run(tc.dir, func(t *testing.T) {
			in := load(t, filepath.Join("testdata", tc.dir))
			hit := false
			for _, r := range Rules {
				problems := r.Check(in)
				if r.Name != tc.rule {
					for _, p := range problems {
						t.Errorf("rule %s (not the one broken) reports: %s", r.Name, p)
					}
					continue
				}
				for _, p := range problems {
					hit = hit || strings.Contains(p, tc.want)
					t.Logf("%s: %s", r.Name, p)
				}
			}
			if !hit {
				t.Errorf("rule %s did not report %q", tc.rule, tc.want)
			}
		})
	}
}

// TestEveryRuleHasACase: a rule without a broken case could be switched
// off unnoticed; a testdata directory without a case is never run.
func TestEveryRuleHasACase(t *testing.T) {
	cased := map[string]bool{}
	listed := map[string]bool{}
	for _, tc := range brokenCases {
		cased[tc.rule] = true
		listed[tc.dir] = true
	}
	for _, r := range Rules {
		if !cased[r.Name] {
			t.Errorf("rule %s has no broken case in testdata", r.Name)
		}
	}
	dirs, err := os.ReadDir("testdata")
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range dirs {
		if !listed[d.Name()] {
			t.Errorf("testdata/%s is not in brokenCases", d.Name())
		}
	}
}
