// Package check reads the hotline's Kubernetes manifests (deploy/k8s) the
// way kubectl apply -k would: it builds every kustomization with the
// Kustomize API, decodes every object strictly into the Kubernetes API
// types, and applies the rules of rules.go. It is its own Go module so that
// the controller's go.mod does not carry Kubernetes.
package check

import (
	"bytes"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"

	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	policyv1 "k8s.io/api/policy/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/serializer"
	"sigs.k8s.io/kustomize/api/krusty"
	"sigs.k8s.io/kustomize/kyaml/filesys"
)

// Input is one tree of manifests (deploy/k8s, or one testdata case) with
// everything the rules look at.
type Input struct {
	Repo  string            // the repository root
	Root  string            // the tree: deploy/k8s or a testdata case
	Files map[string][]byte // every file under Root (slash paths relative to Root), check/ excepted
	// Builds are the kustomizations under Root, built.
	Builds []*Build
	// Operator holds the Secrets the operator creates (README.md's
	// "Secrets" table): name → keys.
	Operator map[string]map[string]bool
}

// Build is one kustomization, built and decoded.
type Build struct {
	Dir     string // relative to Root ("." for Root itself)
	Raw     [][]byte
	Objects []runtime.Object // those that decoded
	// Decode lists the objects that did not decode strictly.
	Decode []string
}

var scheme = func() *runtime.Scheme {
	s := runtime.NewScheme()
	for _, add := range []func(*runtime.Scheme) error{
		corev1.AddToScheme, appsv1.AddToScheme, batchv1.AddToScheme,
		rbacv1.AddToScheme, policyv1.AddToScheme, networkingv1.AddToScheme,
	} {
		if err := add(s); err != nil {
			panic(err)
		}
	}
	return s
}()

// strict rejects unknown and duplicate fields.
var strict = serializer.NewCodecFactory(scheme, serializer.EnableStrict).UniversalDeserializer()

// Load reads the tree at root. readme is the README.md whose "Secrets"
// table names the operator's Secrets (root/README.md when empty).
func Load(repo, root, readme string) (*Input, error) {
	in := &Input{Repo: repo, Root: root, Files: map[string][]byte{}}
	var dirs []string
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, path)
		rel = filepath.ToSlash(rel)
		if d.IsDir() {
			if rel == "check" {
				return filepath.SkipDir
			}
			return nil
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		in.Files[rel] = b
		if d.Name() == "kustomization.yaml" || d.Name() == "kustomization.yml" {
			dirs = append(dirs, filepath.ToSlash(filepath.Dir(rel)))
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", root, err)
	}
	if len(dirs) == 0 {
		return nil, fmt.Errorf("%s: no kustomization.yaml", root)
	}
	sort.Strings(dirs)
	for _, dir := range dirs {
		b, err := build(filepath.Join(root, dir))
		if err != nil {
			return nil, fmt.Errorf("kustomize build %s: %w", filepath.Join(root, dir), err)
		}
		b.Dir = dir
		in.Builds = append(in.Builds, b)
	}
	if readme == "" {
		readme = filepath.Join(root, "README.md")
	}
	text, err := os.ReadFile(readme)
	if err != nil {
		return nil, fmt.Errorf("the operator's Secrets are documented in %s: %w", readme, err)
	}
	in.Operator = operatorSecrets(string(text))
	return in, nil
}

// build runs Kustomize on dir, as kubectl apply -k would, and decodes every
// object it produces.
func build(dir string) (*Build, error) {
	k := krusty.MakeKustomizer(krusty.MakeDefaultOptions())
	rm, err := k.Run(filesys.MakeFsOnDisk(), dir)
	if err != nil {
		return nil, err
	}
	b := &Build{}
	for _, r := range rm.Resources() {
		y, err := r.AsYAML()
		if err != nil {
			return nil, fmt.Errorf("%s: %w", r.CurId(), err)
		}
		b.Raw = append(b.Raw, y)
		obj, _, err := strict.Decode(y, nil, nil)
		if err != nil {
			b.Decode = append(b.Decode, fmt.Sprintf("%s %s: %v", r.GetKind(), r.GetName(), err))
		}
		// A strict error still decodes the object (its unknown fields
		// dropped): the other rules look at it as the API server would
		// keep it.
		if obj != nil && (err == nil || runtime.IsStrictDecodingError(err)) {
			b.Objects = append(b.Objects, obj)
		}
	}
	return b, nil
}

// operatorSecrets reads the table of README.md's "## Secrets" section:
// rows whose first cell is a `secret-name` and whose second cell holds its
// `key`s.
func operatorSecrets(readme string) map[string]map[string]bool {
	out := map[string]map[string]bool{}
	in := false
	for _, line := range strings.Split(readme, "\n") {
		if strings.HasPrefix(line, "## ") {
			in = strings.TrimSpace(strings.TrimPrefix(line, "## ")) == "Secrets"
			continue
		}
		if !in || !strings.HasPrefix(line, "|") {
			continue
		}
		cells := strings.Split(strings.Trim(line, "| "), "|")
		if len(cells) < 2 {
			continue
		}
		names := backticked(cells[0])
		if len(names) != 1 {
			continue
		}
		keys := out[names[0]]
		if keys == nil {
			keys = map[string]bool{}
			out[names[0]] = keys
		}
		for _, k := range backticked(cells[1]) {
			keys[k] = true
		}
	}
	return out
}

func backticked(s string) []string {
	var out []string
	for {
		i := strings.IndexByte(s, '`')
		if i < 0 {
			return out
		}
		j := strings.IndexByte(s[i+1:], '`')
		if j < 0 {
			return out
		}
		out = append(out, s[i+1:i+1+j])
		s = s[i+2+j:]
	}
}

// RepoRoot finds the repository root above dir (the go.mod of the
// controller).
func RepoRoot(dir string) (string, error) {
	dir, err := filepath.Abs(dir)
	if err != nil {
		return "", err
	}
	for d := dir; ; d = filepath.Dir(d) {
		b, err := os.ReadFile(filepath.Join(d, "go.mod"))
		if err == nil && bytes.HasPrefix(b, []byte("module github.com/hotline95598/hotline\n")) {
			return d, nil
		}
		if filepath.Dir(d) == d {
			return "", fmt.Errorf("no hotline go.mod above %s", dir)
		}
	}
}
