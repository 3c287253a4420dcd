package check

import (
	"fmt"
	"path"
	"strings"

	"sigs.k8s.io/kustomize/api/types"
	"sigs.k8s.io/yaml"
)

// checkOrphans: every file in a kustomization's directory is used by that
// kustomization (a resource, patch or generator input), so no manifest
// lies around unchecked and unapplied. README files are exempt.
func checkOrphans(in *Input) []string {
	var out []string
	dirs := map[string]bool{}
	for _, b := range in.Builds {
		dirs[b.Dir] = true
	}
	used := map[string]bool{}
	for _, b := range in.Builds {
		name := path.Join(b.Dir, "kustomization.yaml")
		raw, ok := in.Files[name]
		if !ok {
			name = path.Join(b.Dir, "kustomization.yml")
			raw = in.Files[name]
		}
		used[name] = true
		var k types.Kustomization
		if err := yaml.Unmarshal(raw, &k); err != nil {
			out = append(out, fmt.Sprintf("%s: %v", name, err))
			continue
		}
		var refs []string
		refs = append(refs, k.Resources...)
		refs = append(refs, k.Components...)
		refs = append(refs, k.Crds...)
		for _, p := range k.PatchesStrategicMerge {
			refs = append(refs, string(p))
		}
		for _, p := range k.Patches {
			refs = append(refs, p.Path)
		}
		for _, p := range k.PatchesJson6902 {
			refs = append(refs, p.Path)
		}
		for _, r := range k.Replacements {
			refs = append(refs, r.Path)
		}
		gens := append(append([]types.GeneratorArgs{}, configMapArgs(k)...), secretArgs(k)...)
		for _, g := range gens {
			for _, f := range g.FileSources {
				if i := strings.IndexByte(f, '='); i >= 0 {
					f = f[i+1:]
				}
				refs = append(refs, f)
			}
			refs = append(refs, g.EnvSources...)
			refs = append(refs, g.EnvSource)
		}
		for _, r := range refs {
			if r != "" {
				used[path.Join(b.Dir, r)] = true
			}
		}
	}
	for _, f := range sortedKeys(in.Files) {
		owner := ""
		for d := path.Dir(f); ; d = path.Dir(d) {
			if dirs[d] {
				owner = d
				break
			}
			if d == "." || d == "/" {
				break
			}
		}
		base := path.Base(f)
		if owner == "" || used[f] || strings.HasPrefix(base, "README") {
			continue
		}
		out = append(out, fmt.Sprintf("%s is in kustomization %s but not used by it", f, owner))
	}
	return out
}

func configMapArgs(k types.Kustomization) []types.GeneratorArgs {
	var out []types.GeneratorArgs
	for _, g := range k.ConfigMapGenerator {
		out = append(out, g.GeneratorArgs)
	}
	return out
}

func secretArgs(k types.Kustomization) []types.GeneratorArgs {
	var out []types.GeneratorArgs
	for _, g := range k.SecretGenerator {
		out = append(out, g.GeneratorArgs)
	}
	return out
}
