package check

import (
	"fmt"
	"net"
	"sort"
	"strconv"
	"strings"

	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/apimachinery/pkg/util/validation"
)

// Rule is one check over a tree of manifests; it returns the problems found.
type Rule struct {
	Name  string
	Check func(*Input) []string
}

// Rules are every rule, in the order they are reported.
var Rules = []Rule{
	{"decode", checkDecode},
	{"api", checkAPI},
	{"resources", checkResources},
	{"probes", checkProbes},
	{"images", checkImages},
	{"devsecrets", checkDevSecrets},
	{"secretrefs", checkSecretRefs},
	{"configrefs", checkConfigRefs},
	{"controllerenv", checkControllerEnv},
	{"prometheus", checkPrometheus},
	{"dispatcher", checkDispatcher},
	{"orphans", checkOrphans},
}

// each runs f on every build and prefixes its problems with the build's
// directory.
func each(in *Input, f func(*Input, *Build) []string) []string {
	var out []string
	for _, b := range in.Builds {
		for _, p := range f(in, b) {
			out = append(out, b.Dir+": "+p)
		}
	}
	return out
}

// checkDecode: every object decodes into the Kubernetes API types with no
// unknown or duplicate field, and is of a kind the API knows.
func checkDecode(in *Input) []string {
	return each(in, func(_ *Input, b *Build) []string { return b.Decode })
}

// checkAPI: what the API server would refuse or silently mis-wire: a
// selector that misses its own pods, invalid port and variable names,
// mounts of missing volumes, a StatefulSet without its headless Service, a
// Service or budget that selects no pod.
func checkAPI(in *Input) []string {
	return each(in, func(_ *Input, b *Build) []string {
		var out []string
		bad := func(format string, a ...any) { out = append(out, fmt.Sprintf(format, a...)) }
		pods := b.Pods()
		for _, p := range pods {
			if p.Selector != nil {
				sel, err := metav1.LabelSelectorAsSelector(p.Selector)
				if err != nil {
					bad("%s: selector: %v", p, err)
				} else if sel.Empty() || !sel.Matches(labels.Set(p.Labels)) {
					bad("%s: selector %v does not match its pod template's labels %v", p, sel, p.Labels)
				}
			}
			for _, c := range p.Containers() {
				for _, e := range validation.IsDNS1123Label(c.C.Name) {
					bad("%s: name: %s", c, e)
				}
				for _, port := range c.C.Ports {
					if port.Name == "" {
						continue
					}
					for _, e := range validation.IsValidPortName(port.Name) {
						bad("%s: port name %q: %s", c, port.Name, e)
					}
				}
				for _, e := range c.C.Env {
					for _, msg := range validation.IsEnvVarName(e.Name) {
						bad("%s: env %q: %s", c, e.Name, msg)
					}
				}
				for _, m := range c.C.VolumeMounts {
					if p.Volume(m.Name) == nil {
						bad("%s: mounts volume %q, which the pod does not have", c, m.Name)
					}
				}
			}
			if p.Kind == "StatefulSet" {
				svc := b.Services()[p.ServiceName]
				switch {
				case p.ServiceName == "":
					bad("%s: no serviceName (its pods need a headless Service for stable names)", p)
				case svc == nil:
					bad("%s: serviceName %q names no Service in the manifests", p, p.ServiceName)
				case svc.Spec.ClusterIP != corev1.ClusterIPNone:
					bad("%s: Service %s is not headless (clusterIP: None), so its pods get no stable names", p, svc.Name)
				case !selects(svc.Spec.Selector, p.Labels):
					bad("%s: Service %s does not select its pods", p, svc.Name)
				}
			}
		}
		selectsAny := func(sel map[string]string) bool {
			for _, p := range pods {
				if selects(sel, p.Labels) {
					return true
				}
			}
			return false
		}
		for _, o := range b.Objects {
			switch o := o.(type) {
			case *corev1.Service:
				if len(o.Spec.Selector) > 0 && !selectsAny(o.Spec.Selector) {
					bad("Service %s: selector %v matches no pod", o.Name, o.Spec.Selector)
				}
			case *policyv1.PodDisruptionBudget:
				if o.Spec.Selector == nil || !selectsAny(o.Spec.Selector.MatchLabels) {
					bad("PodDisruptionBudget %s: selector matches no pod", o.Name)
				}
			}
		}
		return out
	})
}

// checkResources: every container, init containers too, asks for CPU and
// memory and is limited in both, with requests no higher than limits.
func checkResources(in *Input) []string {
	return each(in, func(_ *Input, b *Build) []string {
		var out []string
		for _, p := range b.Pods() {
			for _, c := range p.Containers() {
				r := c.C.Resources
				for _, name := range []corev1.ResourceName{corev1.ResourceCPU, corev1.ResourceMemory} {
					req, hasReq := r.Requests[name]
					lim, hasLim := r.Limits[name]
					if !hasReq {
						out = append(out, fmt.Sprintf("%s: no %s request", c, name))
					}
					if !hasLim {
						out = append(out, fmt.Sprintf("%s: no %s limit", c, name))
					}
					if hasReq && hasLim && req.Cmp(lim) > 0 {
						out = append(out, fmt.Sprintf("%s: %s request %s is above its limit %s", c, name, req.String(), lim.String()))
					}
				}
			}
		}
		return out
	})
}

// checkProbes: every container has a liveness and a readiness probe; the
// controller's both ask GET /healthz on the port of HOTLINE_HTTP_ADDR.
// Named probe ports must be ports of the container.
func checkProbes(in *Input) []string {
	return each(in, func(_ *Input, b *Build) []string {
		var out []string
		cms := b.ConfigMaps()
		for _, p := range b.Pods() {
			for _, c := range p.Containers() {
				if c.Init {
					continue
				}
				probes := map[string]*corev1.Probe{"liveness": c.C.LivenessProbe, "readiness": c.C.ReadinessProbe, "startup": c.C.StartupProbe}
				for _, kind := range []string{"liveness", "readiness", "startup"} {
					pr := probes[kind]
					if pr == nil {
						if kind != "startup" {
							out = append(out, fmt.Sprintf("%s: no %s probe", c, kind))
						}
						continue
					}
					if port, ok := probePort(pr); ok && port.Type == intstr.String {
						if containerPort(c.C, port.StrVal) == 0 {
							out = append(out, fmt.Sprintf("%s: %s probe uses port %q, which the container does not declare", c, kind, port.StrVal))
						}
					}
				}
				if !isController(c) {
					continue
				}
				_, want, err := net.SplitHostPort(c.Env(cms)["HOTLINE_HTTP_ADDR"].Value)
				if err != nil {
					out = append(out, fmt.Sprintf("%s: HOTLINE_HTTP_ADDR is not host:port, so the /healthz probes cannot be checked", c))
					continue
				}
				for _, kind := range []string{"liveness", "readiness"} {
					pr := probes[kind]
					if pr == nil {
						continue
					}
					if pr.HTTPGet == nil || pr.HTTPGet.Path != "/healthz" {
						out = append(out, fmt.Sprintf("%s: the controller's %s probe must be an HTTP GET of /healthz", c, kind))
						continue
					}
					got := pr.HTTPGet.Port.String()
					if pr.HTTPGet.Port.Type == intstr.String {
						got = strconv.Itoa(int(containerPort(c.C, pr.HTTPGet.Port.StrVal)))
					}
					if got != want {
						out = append(out, fmt.Sprintf("%s: the controller's %s probe asks port %s, but HOTLINE_HTTP_ADDR listens on %s", c, kind, got, want))
					}
				}
			}
		}
		return out
	})
}

// checkImages: every image names a tag (or a digest), never "latest".
func checkImages(in *Input) []string {
	return each(in, func(_ *Input, b *Build) []string {
		var out []string
		for _, p := range b.Pods() {
			for _, c := range p.Containers() {
				img := c.C.Image
				name, digest, hasDigest := strings.Cut(img, "@")
				slash := strings.LastIndexByte(name, '/')
				colon := strings.LastIndexByte(name, ':')
				switch {
				case img == "":
					out = append(out, fmt.Sprintf("%s: no image", c))
				case hasDigest && !strings.HasPrefix(digest, "sha256:"):
					out = append(out, fmt.Sprintf("%s: image %q: digest is not sha256:…", c, img))
				case colon <= slash && !hasDigest:
					out = append(out, fmt.Sprintf("%s: image %q has no tag; pin one (never latest)", c, img))
				case colon > slash && name[colon+1:] == "latest":
					out = append(out, fmt.Sprintf("%s: image %q uses the tag latest; pin a version", c, img))
				}
			}
		}
		return out
	})
}

// probePort returns the port an HTTP or TCP probe asks.
func probePort(p *corev1.Probe) (intstr.IntOrString, bool) {
	switch {
	case p.HTTPGet != nil:
		return p.HTTPGet.Port, true
	case p.TCPSocket != nil:
		return p.TCPSocket.Port, true
	}
	return intstr.IntOrString{}, false
}

// containerPort returns the number of the container's port of that name, or 0.
func containerPort(c *corev1.Container, name string) int32 {
	for _, p := range c.Ports {
		if p.Name == name {
			return p.ContainerPort
		}
	}
	return 0
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
