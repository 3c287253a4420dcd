package check

import (
	"fmt"
	"strings"

	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// Pod is the pod template of a workload (or a bare Pod).
type Pod struct {
	Kind, Name  string
	Spec        *corev1.PodSpec
	Labels      map[string]string // the pods' labels
	Selector    *metav1.LabelSelector
	Replicas    int32    // 1 for kinds without replicas
	ServiceName string   // StatefulSet only
	Claims      []string // StatefulSet only: volumeClaimTemplates, volumes of every pod
}

func (p *Pod) String() string { return p.Kind + " " + p.Name }

// Container is one container of a pod, init containers included.
type Container struct {
	Pod  *Pod
	C    *corev1.Container
	Init bool
}

func (c Container) String() string {
	kind := "container"
	if c.Init {
		kind = "init container"
	}
	return fmt.Sprintf("%s: %s %s", c.Pod, kind, c.C.Name)
}

func replicas(r *int32) int32 {
	if r == nil {
		return 1
	}
	return *r
}

// Pods returns every pod template in the build.
func (b *Build) Pods() []*Pod {
	var out []*Pod
	for _, o := range b.Objects {
		switch w := o.(type) {
		case *appsv1.Deployment:
			out = append(out, &Pod{Kind: "Deployment", Name: w.Name, Spec: &w.Spec.Template.Spec, Labels: w.Spec.Template.Labels, Selector: w.Spec.Selector, Replicas: replicas(w.Spec.Replicas)})
		case *appsv1.StatefulSet:
			out = append(out, &Pod{Kind: "StatefulSet", Name: w.Name, Spec: &w.Spec.Template.Spec, Labels: w.Spec.Template.Labels, Selector: w.Spec.Selector, Replicas: replicas(w.Spec.Replicas), ServiceName: w.Spec.ServiceName, Claims: claimNames(w)})
		case *appsv1.DaemonSet:
			out = append(out, &Pod{Kind: "DaemonSet", Name: w.Name, Spec: &w.Spec.Template.Spec, Labels: w.Spec.Template.Labels, Selector: w.Spec.Selector, Replicas: 1})
		case *batchv1.Job:
			out = append(out, &Pod{Kind: "Job", Name: w.Name, Spec: &w.Spec.Template.Spec, Labels: w.Spec.Template.Labels, Replicas: 1})
		case *batchv1.CronJob:
			out = append(out, &Pod{Kind: "CronJob", Name: w.Name, Spec: &w.Spec.JobTemplate.Spec.Template.Spec, Labels: w.Spec.JobTemplate.Spec.Template.Labels, Replicas: 1})
		case *corev1.Pod:
			out = append(out, &Pod{Kind: "Pod", Name: w.Name, Spec: &w.Spec, Labels: w.Labels, Replicas: 1})
		}
	}
	return out
}

// Containers returns the pod's init containers and containers.
func (p *Pod) Containers() []Container {
	var out []Container
	for i := range p.Spec.InitContainers {
		out = append(out, Container{Pod: p, C: &p.Spec.InitContainers[i], Init: true})
	}
	for i := range p.Spec.Containers {
		out = append(out, Container{Pod: p, C: &p.Spec.Containers[i]})
	}
	return out
}

func claimNames(s *appsv1.StatefulSet) []string {
	var out []string
	for _, c := range s.Spec.VolumeClaimTemplates {
		out = append(out, c.Name)
	}
	return out
}

// Volume returns the pod's volume of that name (a volume claim template is
// one with a PersistentVolumeClaim source).
func (p *Pod) Volume(name string) *corev1.Volume {
	for i := range p.Spec.Volumes {
		if p.Spec.Volumes[i].Name == name {
			return &p.Spec.Volumes[i]
		}
	}
	for _, c := range p.Claims {
		if c == name {
			return &corev1.Volume{Name: name, VolumeSource: corev1.VolumeSource{PersistentVolumeClaim: &corev1.PersistentVolumeClaimVolumeSource{ClaimName: name}}}
		}
	}
	return nil
}

// ConfigMaps returns the build's ConfigMaps by name.
func (b *Build) ConfigMaps() map[string]*corev1.ConfigMap {
	out := map[string]*corev1.ConfigMap{}
	for _, o := range b.Objects {
		if cm, ok := o.(*corev1.ConfigMap); ok {
			out[cm.Name] = cm
		}
	}
	return out
}

// Secrets returns the build's Secrets by name.
func (b *Build) Secrets() map[string]*corev1.Secret {
	out := map[string]*corev1.Secret{}
	for _, o := range b.Objects {
		if s, ok := o.(*corev1.Secret); ok {
			out[s.Name] = s
		}
	}
	return out
}

// Services returns the build's Services by name.
func (b *Build) Services() map[string]*corev1.Service {
	out := map[string]*corev1.Service{}
	for _, o := range b.Objects {
		if s, ok := o.(*corev1.Service); ok {
			out[s.Name] = s
		}
	}
	return out
}

// cmKeys returns a ConfigMap's keys (data and binaryData).
func cmKeys(cm *corev1.ConfigMap) map[string]bool {
	keys := map[string]bool{}
	for k := range cm.Data {
		keys[k] = true
	}
	for k := range cm.BinaryData {
		keys[k] = true
	}
	return keys
}

// EnvVar is one environment variable as the container will see it.
type EnvVar struct {
	Name   string
	Value  string // the literal or ConfigMap value; "" for Secrets and fields
	Source string // "value", "configmap NAME", "secret NAME", "field"
	Secret bool   // from a Secret
}

// Env resolves a container's environment: envFrom ConfigMaps (later ones
// win), then env entries, which win over envFrom. Values from ConfigMaps
// are looked up in cms; missing ones stay empty (configrefs reports them).
func (c Container) Env(cms map[string]*corev1.ConfigMap) map[string]EnvVar {
	out := map[string]EnvVar{}
	for _, ef := range c.C.EnvFrom {
		switch {
		case ef.ConfigMapRef != nil:
			if cm := cms[ef.ConfigMapRef.Name]; cm != nil {
				for k, v := range cm.Data {
					out[ef.Prefix+k] = EnvVar{Name: ef.Prefix + k, Value: v, Source: "configmap " + cm.Name}
				}
			}
		case ef.SecretRef != nil:
			// The keys are not known from the manifests; see secretrefs.
		}
	}
	for _, e := range c.C.Env {
		v := EnvVar{Name: e.Name, Value: e.Value, Source: "value"}
		if f := e.ValueFrom; f != nil {
			v.Value = ""
			switch {
			case f.ConfigMapKeyRef != nil:
				v.Source = "configmap " + f.ConfigMapKeyRef.Name
				if cm := cms[f.ConfigMapKeyRef.Name]; cm != nil {
					v.Value = cm.Data[f.ConfigMapKeyRef.Key]
				}
			case f.SecretKeyRef != nil:
				v.Source, v.Secret = "secret "+f.SecretKeyRef.Name, true
			default:
				v.Source = "field"
			}
		}
		out[e.Name] = v
	}
	return out
}

// isController reports whether c is the hotline controller: the
// hotline/controller image (under any registry) running "serve".
func isController(c Container) bool {
	return !c.Init && imageRepo(c.C.Image) == "hotline/controller" && len(c.C.Args) > 0 && c.C.Args[0] == "serve"
}

// imageRepo returns the image's repository without registry host, tag and
// digest: "registry.example.org:5000/hotline/controller:0.1.0" →
// "hotline/controller".
func imageRepo(image string) string {
	name, _, _ := strings.Cut(image, "@")
	if i := strings.LastIndexByte(name, ':'); i > strings.LastIndexByte(name, '/') {
		name = name[:i]
	}
	parts := strings.Split(name, "/")
	if len(parts) > 1 && (strings.ContainsAny(parts[0], ".:") || parts[0] == "localhost") {
		parts = parts[1:]
	}
	if len(parts) > 2 {
		parts = parts[len(parts)-2:]
	}
	return strings.Join(parts, "/")
}

// selects reports whether the selector labels all appear in labels.
func selects(sel, labels map[string]string) bool {
	if len(sel) == 0 {
		return false
	}
	for k, v := range sel {
		if labels[k] != v {
			return false
		}
	}
	return true
}
