package check

import (
	"fmt"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"

	corev1 "k8s.io/api/core/v1"
)

var hotlineVar = regexp.MustCompile(`HOTLINE_[A-Z0-9_]*[A-Z0-9]`)

// issueVars are the variables issue 13 names for Redis Sentinel; they are
// known before the code that reads them lands.
var issueVars = []string{"HOTLINE_REDIS_SENTINELS", "HOTLINE_REDIS_MASTER"}

// knownVars returns every HOTLINE_* name the repository mentions outside
// deploy/k8s (code, scripts, templates, README), plus the names
// deploy/k8s/README.md documents for the pieces it asks of others. A name
// found nowhere else is a typo the controller or a script would ignore.
func knownVars(repo string) (map[string]bool, error) {
	known := map[string]bool{}
	for _, v := range issueVars {
		known[v] = true
	}
	k8s := filepath.Join(repo, "deploy", "k8s")
	err := filepath.WalkDir(repo, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			switch d.Name() {
			case ".git", ".run", "node_modules":
				return filepath.SkipDir
			}
			if path == k8s {
				return filepath.SkipDir
			}
			return nil
		}
		if info, err := d.Info(); err != nil || info.Size() > 1<<20 {
			return err
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		for _, v := range hotlineVar.FindAllString(string(b), -1) {
			known[v] = true
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	b, err := os.ReadFile(filepath.Join(k8s, "README.md"))
	if err != nil {
		return nil, err
	}
	for _, v := range hotlineVar.FindAllString(string(b), -1) {
		known[v] = true
	}
	return known, nil
}

// checkControllerEnv: every HOTLINE_* variable is one the hotline knows;
// the controller finds Redis through the sentinels
// (HOTLINE_REDIS_SENTINELS names every pod of the sentinels' StatefulSet
// at a port they declare, HOTLINE_REDIS_MASTER is the name they monitor),
// authenticates with a password from a Secret, and listens beyond
// loopback on a port it declares.
func checkControllerEnv(in *Input) []string {
	known, err := knownVars(in.Repo)
	if err != nil {
		return []string{err.Error()}
	}
	return each(in, func(_ *Input, b *Build) []string {
		var out []string
		bad := func(format string, a ...any) { out = append(out, fmt.Sprintf(format, a...)) }
		cms := b.ConfigMaps()
		pods := b.Pods()
		controllers := 0
		for _, p := range pods {
			for _, c := range p.Containers() {
				env := c.Env(cms)
				for _, name := range sortedKeys(env) {
					if strings.HasPrefix(name, "HOTLINE_") && !known[name] {
						bad("%s: %s (%s) is not a variable the hotline reads", c, name, env[name].Source)
					}
				}
				if !isController(c) {
					continue
				}
				controllers++
				master := env["HOTLINE_REDIS_MASTER"].Value
				if master == "" {
					bad("%s: HOTLINE_REDIS_MASTER is not set: the controller would not use Sentinel", c)
				}
				if s := env["HOTLINE_REDIS_SENTINELS"].Value; s == "" {
					bad("%s: HOTLINE_REDIS_SENTINELS is not set: the controller would not use Sentinel", c)
				} else {
					out = append(out, sentinelProblems(c, s, master, pods, cms)...)
				}
				if pw := env["HOTLINE_REDIS_PASSWORD"]; !pw.Secret {
					bad("%s: HOTLINE_REDIS_PASSWORD must come from a Secret", c)
				}
				addr := env["HOTLINE_HTTP_ADDR"].Value
				host, port, err := net.SplitHostPort(addr)
				n, _ := strconv.Atoi(port)
				switch {
				case err != nil:
					bad("%s: HOTLINE_HTTP_ADDR %q is not host:port", c, addr)
				case host == "localhost" || net.ParseIP(host) != nil && net.ParseIP(host).IsLoopback():
					bad("%s: HOTLINE_HTTP_ADDR %q listens on loopback: probes and Prometheus cannot reach it", c, addr)
				case !declares(c, n):
					bad("%s: HOTLINE_HTTP_ADDR port %s is not a port of the container", c, port)
				}
			}
		}
		if controllers == 0 {
			bad("no controller container (image hotline/controller, args serve)")
		}
		return out
	})
}

func declares(c Container, port int) bool {
	for _, p := range c.C.Ports {
		if int(p.ContainerPort) == port {
			return true
		}
	}
	return false
}

// sentinelProblems checks HOTLINE_REDIS_SENTINELS against the manifests:
// each entry is NAME-N.SERVICE:PORT for a pod of a StatefulSet NAME behind
// its Service SERVICE, declaring PORT; together they name every pod.
func sentinelProblems(c Container, list, master string, pods []*Pod, cms map[string]*corev1.ConfigMap) []string {
	var out []string
	bad := func(format string, a ...any) {
		out = append(out, fmt.Sprintf("%s: HOTLINE_REDIS_SENTINELS: ", c)+fmt.Sprintf(format, a...))
	}
	seen := map[*Pod]map[int]bool{}
	for _, entry := range strings.Split(list, ",") {
		entry = strings.TrimSpace(entry)
		host, port, err := net.SplitHostPort(entry)
		n, _ := strconv.Atoi(port)
		if err != nil {
			bad("%q is not host:port", entry)
			continue
		}
		labels := strings.Split(host, ".")
		i := strings.LastIndexByte(labels[0], '-')
		ord, err := strconv.Atoi(labels[0][i+1:])
		if i < 0 || err != nil || len(labels) < 2 {
			bad("%q is not the name of a StatefulSet pod (NAME-N.SERVICE)", host)
			continue
		}
		var sts *Pod
		for _, p := range pods {
			if p.Kind == "StatefulSet" && p.Name == labels[0][:i] && p.ServiceName == labels[1] {
				sts = p
			}
		}
		switch {
		case sts == nil:
			bad("%s: no StatefulSet %s with serviceName %s", host, labels[0][:i], labels[1])
			continue
		case ord >= int(sts.Replicas):
			bad("%s: StatefulSet %s has %d replicas", host, sts.Name, sts.Replicas)
			continue
		}
		ok := false
		for _, sc := range sts.Containers() {
			ok = ok || !sc.Init && declares(sc, n)
		}
		if !ok {
			bad("%s: no container of StatefulSet %s declares port %d", entry, sts.Name, n)
		}
		if seen[sts] == nil {
			seen[sts] = map[int]bool{}
		}
		seen[sts][ord] = true
	}
	for sts, ords := range seen {
		if len(ords) < int(sts.Replicas) {
			bad("names %d of the %d pods of StatefulSet %s", len(ords), sts.Replicas, sts.Name)
		}
		// The sentinels monitor the master under the name their own
		// configuration reads from HOTLINE_REDIS_MASTER.
		names := map[string]bool{}
		for _, sc := range sts.Containers() {
			if v, ok := sc.Env(cms)["HOTLINE_REDIS_MASTER"]; ok {
				names[v.Value] = true
			}
		}
		if len(names) == 0 {
			bad("StatefulSet %s does not read HOTLINE_REDIS_MASTER, the master name it monitors", sts.Name)
		}
		for name := range names {
			if name != master {
				bad("StatefulSet %s monitors master %q, the controller asks for %q", sts.Name, name, master)
			}
		}
	}
	return out
}
