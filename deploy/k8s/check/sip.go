package check

import (
	"fmt"
	"strconv"
	"strings"

	corev1 "k8s.io/api/core/v1"
)

// dsNoResolve is the dispatcher flag that keeps a destination whose name
// does not resolve yet (seen with Kamailio 5.6.3: without it the node is
// skipped at load; with it the node is probed once its name resolves).
const dsNoResolve = 16

// checkDispatcher: Kamailio's dispatcher list (the file HOTLINE_DISPATCHER_LIST
// names, from a ConfigMap) holds exactly the pods of the StatefulSet that
// runs the controller, at the SIP port those pods declare: a node added by
// scaling the StatefulSet gets calls only once it is in the list, and a
// listed node that does not exist would be probed for ever. Every line
// carries flag 16.
func checkDispatcher(in *Input) []string {
	return each(in, func(_ *Input, b *Build) []string {
		var out []string
		bad := func(format string, a ...any) { out = append(out, fmt.Sprintf(format, a...)) }
		cms := b.ConfigMaps()
		want := map[string]bool{}
		for _, p := range b.Pods() {
			var sip int32
			controller := false
			for _, c := range p.Containers() {
				controller = controller || isController(c)
				if !c.Init && !isController(c) {
					if n := containerPort(c.C, "sip"); n != 0 {
						sip = n
					}
				}
			}
			if !controller {
				continue
			}
			if p.Kind != "StatefulSet" || sip == 0 {
				bad("%s runs the controller but is not a StatefulSet with a port named sip: Kamailio cannot address its nodes", p)
				continue
			}
			for i := 0; i < int(p.Replicas); i++ {
				want[fmt.Sprintf("sip:%s-%d.%s:%d", p.Name, i, p.ServiceName, sip)] = true
			}
		}
		lists := 0
		for _, p := range b.Pods() {
			for _, c := range p.Containers() {
				path := c.Env(cms)["HOTLINE_DISPATCHER_LIST"].Value
				if path == "" {
					continue
				}
				lists++
				text, where, ok := fileFromConfigMap(p, c, path, cms)
				if !ok {
					bad("%s: HOTLINE_DISPATCHER_LIST %s is not a file of a ConfigMap mounted there", c, path)
					continue
				}
				got := map[string]bool{}
				for n, line := range strings.Split(text, "\n") {
					f := strings.Fields(line)
					if len(f) == 0 || strings.HasPrefix(f[0], "#") {
						continue
					}
					if len(f) < 2 || f[0] != "1" {
						bad("%s line %d: %q is not \"1 sip:HOST:PORT\" (set 1: the Asterisk nodes)", where, n+1, line)
						continue
					}
					flags := 0
					if len(f) > 2 {
						flags, _ = strconv.Atoi(f[2])
					}
					if flags&dsNoResolve == 0 {
						bad("%s line %d: %s lacks flag 16: Kamailio drops a node whose name does not resolve when it starts (its pod not up yet) and never probes it again", where, n+1, f[1])
					}
					if !want[f[1]] {
						bad("%s line %d: %s is not a pod of the controller's StatefulSet at its SIP port (those are %s)", where, n+1, f[1], strings.Join(sortedKeys(want), ", "))
					}
					got[f[1]] = true
				}
				for _, w := range sortedKeys(want) {
					if !got[w] {
						bad("%s: the node %s is missing, so it would never get a call", where, w)
					}
				}
			}
		}
		if lists == 0 {
			bad("no container reads HOTLINE_DISPATCHER_LIST (Kamailio's list of Asterisk nodes)")
		}
		return out
	})
}

// fileFromConfigMap returns the content of path inside container c when a
// ConfigMap volume mounted above it holds it.
func fileFromConfigMap(p *Pod, c Container, path string, cms map[string]*corev1.ConfigMap) (string, string, bool) {
	for _, m := range c.C.VolumeMounts {
		prefix := strings.TrimSuffix(m.MountPath, "/") + "/"
		v := p.Volume(m.Name)
		if !strings.HasPrefix(path, prefix) || v == nil || v.ConfigMap == nil || cms[v.ConfigMap.Name] == nil {
			continue
		}
		file := strings.TrimPrefix(path, prefix)
		if m.SubPath != "" {
			continue
		}
		key := file
		if len(v.ConfigMap.Items) > 0 {
			key = ""
			for _, it := range v.ConfigMap.Items {
				if it.Path == file {
					key = it.Key
				}
			}
		}
		text, ok := cms[v.ConfigMap.Name].Data[key]
		if ok {
			return text, "ConfigMap " + v.ConfigMap.Name + " " + key, true
		}
	}
	return "", "", false
}
