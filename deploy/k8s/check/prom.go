package check

import (
	"bytes"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"regexp"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/yaml"
)

// promConfig is the part of prometheus.yml the check reads; promtool
// checks the whole file.
type promConfig struct {
	RuleFiles     []string       `json:"rule_files"`
	ScrapeConfigs []scrapeConfig `json:"scrape_configs"`
}

type scrapeConfig struct {
	JobName       string        `json:"job_name"`
	MetricsPath   string        `json:"metrics_path"`
	StaticConfigs []targetGroup `json:"static_configs"`
	FileSDs       []struct {
		Files []string `json:"files"`
	} `json:"file_sd_configs"`
	Relabel []relabelConfig `json:"relabel_configs"`
}

type targetGroup struct {
	Targets []string          `json:"targets"`
	Labels  map[string]string `json:"labels"`
}

type relabelConfig struct {
	SourceLabels []string `json:"source_labels"`
	Separator    *string  `json:"separator"`
	Regex        *string  `json:"regex"`
	TargetLabel  string   `json:"target_label"`
	Replacement  *string  `json:"replacement"`
	Action       string   `json:"action"`
}

// promJob is the job the alerts ask for: up{job="hotline"}.
const promJob = "hotline"

// checkPrometheus: the Prometheus of the manifests scrapes /metrics on the
// HTTP port of every controller, and nothing else, in job "hotline";
// loads every rule file of deploy/prometheus/rules, from copies that equal
// them; and promtool accepts its configuration.
func checkPrometheus(in *Input) []string {
	return each(in, func(in *Input, b *Build) []string {
		var out []string
		bad := func(format string, a ...any) { out = append(out, fmt.Sprintf(format, a...)) }
		cms := b.ConfigMaps()
		found := 0
		for _, p := range b.Pods() {
			for _, c := range p.Containers() {
				file := flagValue(append(append([]string{}, c.C.Command...), c.C.Args...), "--config.file")
				if c.Init || file == "" {
					continue
				}
				found++
				text, where, ok := fileFromConfigMap(p, c, file, cms)
				if !ok {
					bad("%s: --config.file %s is not a file of a ConfigMap mounted there", c, file)
					continue
				}
				var cfg promConfig
				if err := yaml.Unmarshal([]byte(text), &cfg); err != nil {
					bad("%s: %v", where, err)
					continue
				}
				dir := path.Dir(file)
				cm := cms[strings.Fields(where)[1]]
				out = append(out, ruleFileProblems(in.Repo, where, dir, cfg.RuleFiles, cm)...)
				out = append(out, scrapeProblems(where, dir, cfg, b, cm)...)
				out = append(out, promtool(where, dir, cm)...)
			}
		}
		if found == 0 {
			bad("no Prometheus (a container started with --config.file)")
		}
		return out
	})
}

func flagValue(args []string, name string) string {
	for i, a := range args {
		if v, ok := strings.CutPrefix(a, name+"="); ok {
			return v
		}
		if a == name && i+1 < len(args) {
			return args[i+1]
		}
	}
	return ""
}

// ruleFileProblems: rule_files are files of the mounted ConfigMap, and the
// repository's rules are all there, unchanged.
func ruleFileProblems(repo, where, dir string, ruleFiles []string, cm *corev1.ConfigMap) []string {
	var out []string
	listed := map[string]bool{}
	for _, f := range ruleFiles {
		key, ok := strings.CutPrefix(f, dir+"/")
		if _, has := cm.Data[key]; !ok || !has {
			out = append(out, fmt.Sprintf("%s: rule file %s is not a key of ConfigMap %s mounted at %s", where, f, cm.Name, dir))
			continue
		}
		listed[key] = true
	}
	src, _ := filepath.Glob(filepath.Join(repo, "deploy", "prometheus", "rules", "*.yml"))
	if len(src) == 0 {
		out = append(out, "deploy/prometheus/rules has no rule file")
	}
	for _, f := range src {
		key := filepath.Base(f)
		want, err := os.ReadFile(f)
		switch {
		case err != nil:
			out = append(out, err.Error())
		case !listed[key]:
			out = append(out, fmt.Sprintf("%s: rule_files lacks deploy/prometheus/rules/%s", where, key))
		case cm.Data[key] != string(want):
			out = append(out, fmt.Sprintf("ConfigMap %s: %s differs from deploy/prometheus/rules/%s; copy it again (cp deploy/prometheus/rules/*.yml deploy/k8s/base/prometheus/)", cm.Name, key, key))
		}
	}
	return out
}

// scrapeProblems compares the targets of job "hotline" (static, or from
// target files of the mounted ConfigMap), after relabelling, with the
// controllers: NAME-N.SERVICE:PORT for every pod of the StatefulSet that
// runs the controller, at the port of HOTLINE_HTTP_ADDR.
func scrapeProblems(where, dir string, cfg promConfig, b *Build, cm *corev1.ConfigMap) []string {
	var out []string
	bad := func(format string, a ...any) { out = append(out, fmt.Sprintf(where+": "+format, a...)) }
	var job *scrapeConfig
	for i := range cfg.ScrapeConfigs {
		if cfg.ScrapeConfigs[i].JobName == promJob {
			job = &cfg.ScrapeConfigs[i]
		}
	}
	if job == nil {
		return []string{fmt.Sprintf("%s: no scrape job %q (the alerts ask for up{job=%q})", where, promJob, promJob)}
	}
	if job.MetricsPath != "" && job.MetricsPath != "/metrics" {
		bad("job %s scrapes %s, not /metrics", promJob, job.MetricsPath)
	}
	cms := b.ConfigMaps()
	want := map[string]bool{}
	for _, p := range b.Pods() {
		for _, c := range p.Containers() {
			if !isController(c) {
				continue
			}
			_, port, err := net.SplitHostPort(c.Env(cms)["HOTLINE_HTTP_ADDR"].Value)
			if err != nil || p.Kind != "StatefulSet" {
				bad("%s: the controller needs a StatefulSet and HOTLINE_HTTP_ADDR host:port to be scraped by name", c)
				continue
			}
			for i := 0; i < int(p.Replicas); i++ {
				want[fmt.Sprintf("%s-%d.%s:%s", p.Name, i, p.ServiceName, port)] = true
			}
		}
	}
	groups := append([]targetGroup{}, job.StaticConfigs...)
	for _, sd := range job.FileSDs {
		for _, f := range sd.Files {
			key, ok := strings.CutPrefix(f, dir+"/")
			text, has := cm.Data[key]
			if !ok || !has {
				bad("job %s: target file %s is not a key of ConfigMap %s mounted at %s", promJob, f, cm.Name, dir)
				continue
			}
			var g []targetGroup
			if err := yaml.UnmarshalStrict([]byte(text), &g); err != nil {
				bad("job %s: target file %s: %v", promJob, f, err)
				continue
			}
			groups = append(groups, g...)
		}
	}
	got := map[string]bool{}
	for _, g := range groups {
		for _, t := range g.Targets {
			labels := map[string]string{"__address__": t, "__metrics_path__": "/metrics", "__scheme__": "http", "job": promJob}
			for k, v := range g.Labels {
				labels[k] = v
			}
			keep, err := relabel(labels, job.Relabel)
			if err != nil {
				bad("job %s: %v", promJob, err)
				return out
			}
			if !keep {
				continue
			}
			addr := labels["__address__"]
			if !want[addr] {
				bad("job %s scrapes %s, which is not a controller pod at its HTTP port (those are %s)", promJob, addr, strings.Join(sortedKeys(want), ", "))
			}
			if labels["__metrics_path__"] != "/metrics" {
				bad("job %s scrapes %s at %s, not /metrics", promJob, addr, labels["__metrics_path__"])
			}
			got[addr] = true
		}
	}
	for _, w := range sortedKeys(want) {
		if !got[w] {
			bad("job %s does not scrape the controller %s", promJob, w)
		}
	}
	return out
}

// relabel applies relabel_configs to labels as Prometheus does, for the
// actions that decide whether a target exists and where it is; it reports
// whether the target is kept.
func relabel(labels map[string]string, cfgs []relabelConfig) (bool, error) {
	for _, r := range cfgs {
		sep, regex, repl := ";", "(.*)", "$1"
		if r.Separator != nil {
			sep = *r.Separator
		}
		if r.Regex != nil {
			regex = *r.Regex
		}
		if r.Replacement != nil {
			repl = *r.Replacement
		}
		re, err := regexp.Compile("^(?s:" + regex + ")$")
		if err != nil {
			return false, fmt.Errorf("regex %q: %w", regex, err)
		}
		vals := make([]string, len(r.SourceLabels))
		for i, s := range r.SourceLabels {
			vals[i] = labels[s]
		}
		val := strings.Join(vals, sep)
		switch r.Action {
		case "keep":
			if !re.MatchString(val) {
				return false, nil
			}
		case "drop":
			if re.MatchString(val) {
				return false, nil
			}
		case "", "replace":
			m := re.FindStringSubmatchIndex(val)
			if m == nil {
				continue
			}
			target := string(re.ExpandString(nil, r.TargetLabel, val, m))
			res := string(re.ExpandString(nil, repl, val, m))
			if res == "" {
				delete(labels, target)
			} else {
				labels[target] = res
			}
		case "labelmap", "labeldrop", "labelkeep", "lowercase", "uppercase":
			// Change labels, never which targets there are or where.
		default:
			return false, fmt.Errorf("relabel action %q is not one the check follows", r.Action)
		}
	}
	return true, nil
}

// promtool runs "promtool check config" on the configuration with its rule
// files, as the ConfigMap would show them. Without promtool the check is
// skipped, unless HOTLINE_REQUIRE_PROMTOOL=1 (make k8s sets it).
func promtool(where, dir string, cm *corev1.ConfigMap) []string {
	bin, err := exec.LookPath("promtool")
	if err != nil {
		if os.Getenv("HOTLINE_REQUIRE_PROMTOOL") == "1" {
			return []string{"promtool is not installed (make rules installs it)"}
		}
		return nil
	}
	tmp, err := os.MkdirTemp("", "hotline-k8s-prometheus-")
	if err != nil {
		return []string{err.Error()}
	}
	defer os.RemoveAll(tmp)
	for k, v := range cm.Data {
		v = strings.ReplaceAll(v, dir+"/", tmp+"/")
		if err := os.WriteFile(filepath.Join(tmp, k), []byte(v), 0o644); err != nil {
			return []string{err.Error()}
		}
	}
	name := filepath.Join(tmp, strings.Fields(where)[2])
	cmd := exec.Command(bin, "check", "config", name)
	var buf bytes.Buffer
	cmd.Stdout, cmd.Stderr = &buf, &buf
	if err := cmd.Run(); err != nil {
		return []string{fmt.Sprintf("%s: promtool check config: %v\n%s", where, err, strings.ReplaceAll(buf.String(), tmp+"/", dir+"/"))}
	}
	return nil
}
