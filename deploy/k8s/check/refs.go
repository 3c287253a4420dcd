package check

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"

	corev1 "k8s.io/api/core/v1"
)

// devSecretFloor are development and test secrets of the repository named
// here in case the files they come from move; devSecrets adds every one
// those files hold today.
var devSecretFloor = []string{
	"dev-token-change-me", "test-token-not-secret", "hotline-dev", "hotline-test",
	"secret1001", "secret1002", "secret1003", "secret2001", "secret2002", "secret2003",
}

var (
	secretName  = regexp.MustCompile(`(TOKEN|PASSWORD|SECRET|_AUTH)$`)
	notSecret   = regexp.MustCompile(`[A-Za-z0-9_.-]*not-secret[A-Za-z0-9_.-]*`)
	tokenHashRe = regexp.MustCompile(`sha256:[0-9a-f]{64}`)
)

// isSecretVar reports whether an environment variable holds a secret.
func isSecretVar(name string) bool {
	return name == "HOTLINE_SIP_AGENTS" || secretName.MatchString(name)
}

// devSecrets lists the repository's development and test secrets: the
// secret values of every env file under deploy/ (deploy/k8s aside), the
// token hashes of deploy/test/api-tokens and the "…not-secret" strings of
// the end-to-end tests.
func devSecrets(repo string) (map[string]string, error) {
	out := map[string]string{}
	for _, s := range devSecretFloor {
		out[s] = "the repository's development secrets"
	}
	envs, err := filepath.Glob(filepath.Join(repo, "deploy", "*", "*.env"))
	if err != nil {
		return nil, err
	}
	for _, f := range envs {
		if strings.Contains(filepath.ToSlash(f), "/deploy/k8s/") {
			continue
		}
		b, err := os.ReadFile(f)
		if err != nil {
			return nil, err
		}
		rel, _ := filepath.Rel(repo, f)
		sc := bufio.NewScanner(bytes.NewReader(b))
		for sc.Scan() {
			k, v, ok := strings.Cut(strings.TrimSpace(sc.Text()), "=")
			if !ok || strings.HasPrefix(k, "#") || !isSecretVar(k) {
				continue
			}
			if k == "HOTLINE_SIP_AGENTS" {
				for _, a := range strings.Split(v, ",") {
					if _, pass, ok := strings.Cut(a, ":"); ok && len(pass) >= 4 {
						out[pass] = rel
					}
				}
			} else if len(v) >= 4 {
				out[v] = rel
			}
		}
	}
	if b, err := os.ReadFile(filepath.Join(repo, "deploy", "test", "api-tokens")); err == nil {
		for _, h := range tokenHashRe.FindAllString(string(b), -1) {
			out[h] = "deploy/test/api-tokens"
		}
	}
	goFiles, _ := filepath.Glob(filepath.Join(repo, "e2e", "*.go"))
	for _, f := range goFiles {
		b, err := os.ReadFile(f)
		if err != nil {
			return nil, err
		}
		rel, _ := filepath.Rel(repo, f)
		for _, s := range notSecret.FindAllString(string(b), -1) {
			out[s] = rel
		}
	}
	return out, nil
}

// checkDevSecrets: no development or test secret of the repository appears
// in any file of the tree or in any object built from it.
func checkDevSecrets(in *Input) []string {
	secrets, err := devSecrets(in.Repo)
	if err != nil {
		return []string{err.Error()}
	}
	var out []string
	scan := func(where string, text []byte) {
		for _, s := range sortedKeys(secrets) {
			if bytes.Contains(text, []byte(s)) {
				out = append(out, fmt.Sprintf("%s holds the development secret %q (from %s)", where, s, secrets[s]))
			}
		}
	}
	for _, f := range sortedKeys(in.Files) {
		scan(f, in.Files[f])
	}
	for _, b := range in.Builds {
		for _, raw := range b.Raw {
			scan("kustomize build "+b.Dir, raw)
		}
	}
	return out
}

type secretRef struct {
	where, name string
	keys        []string
}

// secretRefs lists every reference of a pod to a Secret.
func secretRefs(p *Pod) []secretRef {
	var out []secretRef
	for _, c := range p.Containers() {
		for _, ef := range c.C.EnvFrom {
			if ef.SecretRef != nil {
				out = append(out, secretRef{c.String(), ef.SecretRef.Name, nil})
			}
		}
		for _, e := range c.C.Env {
			if e.ValueFrom != nil && e.ValueFrom.SecretKeyRef != nil {
				r := e.ValueFrom.SecretKeyRef
				out = append(out, secretRef{c.String() + " env " + e.Name, r.Name, []string{r.Key}})
			}
		}
	}
	items := func(it []corev1.KeyToPath) []string {
		var keys []string
		for _, i := range it {
			keys = append(keys, i.Key)
		}
		return keys
	}
	for _, v := range p.Spec.Volumes {
		if s := v.Secret; s != nil {
			out = append(out, secretRef{p.String() + " volume " + v.Name, s.SecretName, items(s.Items)})
		}
		if pr := v.Projected; pr != nil {
			for _, src := range pr.Sources {
				if s := src.Secret; s != nil {
					out = append(out, secretRef{p.String() + " volume " + v.Name, s.Name, items(s.Items)})
				}
			}
		}
	}
	for _, s := range p.Spec.ImagePullSecrets {
		out = append(out, secretRef{p.String() + " imagePullSecrets", s.Name, nil})
	}
	return out
}

// checkSecretRefs: every Secret a pod uses, and every key of it, is either
// in the manifests or documented in README.md's "Secrets" table as created
// by the operator. Secret values are never in the manifests: no Secret
// carries data, and no secret variable is a literal or comes from a
// ConfigMap.
func checkSecretRefs(in *Input) []string {
	return each(in, func(in *Input, b *Build) []string {
		var out []string
		secrets := b.Secrets()
		for _, name := range sortedKeys(secrets) {
			if s := secrets[name]; len(s.Data) > 0 || len(s.StringData) > 0 {
				out = append(out, fmt.Sprintf("Secret %s carries values in the manifests; the operator creates it (README.md, Secrets)", name))
			}
		}
		for _, p := range b.Pods() {
			for _, r := range secretRefs(p) {
				if s := secrets[r.name]; s != nil {
					for _, k := range r.keys {
						if _, ok := s.Data[k]; !ok {
							if _, ok := s.StringData[k]; !ok {
								out = append(out, fmt.Sprintf("%s: Secret %s has no key %q", r.where, r.name, k))
							}
						}
					}
					continue
				}
				doc, ok := in.Operator[r.name]
				if !ok {
					out = append(out, fmt.Sprintf("%s: Secret %s is neither in the manifests nor in README.md's Secrets table", r.where, r.name))
					continue
				}
				for _, k := range r.keys {
					if !doc[k] {
						out = append(out, fmt.Sprintf("%s: key %q of Secret %s is not in README.md's Secrets table", r.where, k, r.name))
					}
				}
			}
			for _, c := range p.Containers() {
				for _, e := range c.C.Env {
					if !isSecretVar(e.Name) {
						continue
					}
					if e.ValueFrom == nil || e.ValueFrom.SecretKeyRef == nil {
						out = append(out, fmt.Sprintf("%s: %s holds a secret and must come from a Secret (secretKeyRef)", c, e.Name))
					}
				}
			}
		}
		cms := b.ConfigMaps()
		for _, name := range sortedKeys(cms) {
			for _, k := range sortedKeys(cms[name].Data) {
				if isSecretVar(k) {
					out = append(out, fmt.Sprintf("ConfigMap %s: %s holds a secret; put it in a Secret", name, k))
				}
			}
		}
		return out
	})
}

// fileName is a file name after a mount path in a command or value.
var fileName = regexp.MustCompile(`^[A-Za-z0-9._-]+`)

// checkConfigRefs: every ConfigMap a pod uses exists and has the keys it
// asks for, and every file a container names under a ConfigMap or Secret
// mount (in its command, arguments, probes, hooks or environment) is a key
// there (for a Secret the operator creates: a documented key).
func checkConfigRefs(in *Input) []string {
	return each(in, func(in *Input, b *Build) []string {
		var out []string
		bad := func(format string, a ...any) { out = append(out, fmt.Sprintf(format, a...)) }
		cms := b.ConfigMaps()
		has := func(where, name, key string, optional bool) {
			cm := cms[name]
			switch {
			case cm == nil && optional:
			case cm == nil:
				bad("%s: ConfigMap %s is not in the manifests", where, name)
			case key != "" && !cmKeys(cm)[key] && !optional:
				bad("%s: ConfigMap %s has no key %q (it has %s)", where, name, key, strings.Join(sortedKeys(cmKeys(cm)), ", "))
			}
		}
		opt := func(b *bool) bool { return b != nil && *b }
		for _, p := range b.Pods() {
			for _, v := range p.Spec.Volumes {
				if c := v.ConfigMap; c != nil {
					has(p.String()+" volume "+v.Name, c.Name, "", opt(c.Optional))
					for _, it := range c.Items {
						has(p.String()+" volume "+v.Name, c.Name, it.Key, opt(c.Optional))
					}
				}
				if pr := v.Projected; pr != nil {
					for _, src := range pr.Sources {
						if c := src.ConfigMap; c != nil {
							has(p.String()+" volume "+v.Name, c.Name, "", opt(c.Optional))
							for _, it := range c.Items {
								has(p.String()+" volume "+v.Name, c.Name, it.Key, opt(c.Optional))
							}
						}
					}
				}
			}
			for _, c := range p.Containers() {
				for _, ef := range c.C.EnvFrom {
					if r := ef.ConfigMapRef; r != nil {
						has(c.String()+" envFrom", r.Name, "", opt(r.Optional))
					}
				}
				for _, e := range c.C.Env {
					if e.ValueFrom != nil && e.ValueFrom.ConfigMapKeyRef != nil {
						r := e.ValueFrom.ConfigMapKeyRef
						has(c.String()+" env "+e.Name, r.Name, r.Key, opt(r.Optional))
					}
				}
				words := containerWords(c, cms)
				for _, m := range c.C.VolumeMounts {
					source, files := mountFiles(in, b, p.Volume(m.Name))
					if files == nil {
						continue
					}
					if m.SubPath != "" {
						if !files[m.SubPath] {
							bad("%s: mount %s: subPath %q is not a key of %s", c, m.Name, m.SubPath, source)
						}
						continue
					}
					prefix := strings.TrimSuffix(m.MountPath, "/") + "/"
					for _, w := range words {
						for rest := w; ; {
							i := strings.Index(rest, prefix)
							if i < 0 {
								break
							}
							rest = rest[i+len(prefix):]
							f := fileName.FindString(rest)
							if f != "" && !files[f] {
								bad("%s: names %s%s, which %s (volume %s) does not hold", c, prefix, f, source, m.Name)
							}
						}
					}
				}
			}
		}
		return out
	})
}

// mountFiles returns the files a ConfigMap or Secret volume shows, or nil
// when they are not known (another kind of volume, a missing ConfigMap).
func mountFiles(in *Input, b *Build, v *corev1.Volume) (string, map[string]bool) {
	var keys map[string]bool
	var items []corev1.KeyToPath
	var source string
	switch {
	case v == nil:
		return "", nil
	case v.ConfigMap != nil:
		cm := b.ConfigMaps()[v.ConfigMap.Name]
		if cm == nil {
			return "", nil
		}
		source, keys, items = "ConfigMap "+cm.Name, cmKeys(cm), v.ConfigMap.Items
	case v.Secret != nil:
		source, items = "Secret "+v.Secret.SecretName, v.Secret.Items
		if s := b.Secrets()[v.Secret.SecretName]; s != nil {
			keys = map[string]bool{}
			for k := range s.Data {
				keys[k] = true
			}
		} else {
			keys = in.Operator[v.Secret.SecretName]
		}
		if keys == nil {
			return "", nil
		}
	default:
		return "", nil
	}
	if len(items) > 0 {
		keys = map[string]bool{}
		for _, it := range items {
			keys[it.Path] = true
		}
	}
	return source, keys
}

// containerWords are the strings a container runs with: command, args,
// probe and hook commands, environment values.
func containerWords(c Container, cms map[string]*corev1.ConfigMap) []string {
	words := append(append([]string{}, c.C.Command...), c.C.Args...)
	for _, pr := range []*corev1.Probe{c.C.LivenessProbe, c.C.ReadinessProbe, c.C.StartupProbe} {
		if pr != nil && pr.Exec != nil {
			words = append(words, pr.Exec.Command...)
		}
	}
	if l := c.C.Lifecycle; l != nil {
		for _, h := range []*corev1.LifecycleHandler{l.PostStart, l.PreStop} {
			if h != nil && h.Exec != nil {
				words = append(words, h.Exec.Command...)
			}
		}
	}
	env := c.Env(cms)
	for _, k := range sortedKeys(env) {
		words = append(words, env[k].Value)
	}
	sort.Strings(words)
	return words
}
