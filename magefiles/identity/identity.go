// Package identity computes a component's input key: what its artifacts are built from. Two builds
// with the same key are the same build. The key covers the component's own input paths and, for an
// image built FROM another component's image, that component's key.
package identity

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"sort"
	"strings"

	"github.com/shiplane/shiplane/magefiles/manifest"
)

// Key is a component's input key, "sha256:<hex>".
type Key string

// Keys computes every component's key from trees, the git object id of each input path (as
// returned by git.Repo.Trees). A path missing from trees is an *UntrackedError saying why, when m.Root
// lets it look: it would make the key lie.
func Keys(m *manifest.Manifest, trees map[string]string) (map[string]Key, error) {
	keys := make(map[string]Key, len(m.Components))
	var visit func(c *manifest.Component, depth int) (Key, error)
	visit = func(c *manifest.Component, depth int) (Key, error) {
		if k, ok := keys[c.Name]; ok {
			return k, nil
		}
		if depth > len(m.Components) {
			return "", fmt.Errorf("component %s: image.from forms a cycle", c.Name)
		}
		h := sha256.New()
		fmt.Fprintf(h, "shiplane-inputs-v1\ncomponent %s\n", c.Name)
		paths := append([]string(nil), c.Paths...)
		sort.Strings(paths)
		for _, p := range paths {
			t, ok := trees[p]
			if !ok || t == "" {
				return "", untracked(m.Root, c.Name, p, false)
			}
			fmt.Fprintf(h, "path %s %s\n", p, t)
		}
		if c.Image != nil && len(c.Image.Platforms) > 0 {
			// The platforms an image is published for are part of what is published: a release
			// that adds one must not find the index of the old list "already published".
			names := make([]string, len(c.Image.Platforms))
			for i, p := range c.Image.Platforms {
				names[i] = p.String()
			}
			fmt.Fprintf(h, "platforms %s\n", strings.Join(names, ","))
		}
		if c.Image != nil && c.Image.From != "" {
			from := m.Component(c.Image.From)
			if from == nil {
				return "", fmt.Errorf("component %s: image.from names unknown component %q", c.Name, c.Image.From)
			}
			fk, err := visit(from, depth+1)
			if err != nil {
				return "", err
			}
			fmt.Fprintf(h, "from %s %s\n", from.Name, fk)
		}
		k := Key("sha256:" + hex.EncodeToString(h.Sum(nil)))
		keys[c.Name] = k
		return k, nil
	}
	for _, c := range m.Components {
		if _, err := visit(c, 0); err != nil {
			return nil, err
		}
	}
	return keys, nil
}

// Paths returns every path whose tree the lanes need: the components' input paths, their chart
// directories and the platform's chart and VERSION file; sorted and unique.
func Paths(m *manifest.Manifest) []string {
	seen := map[string]bool{}
	var out []string
	for _, c := range m.Components {
		for _, p := range c.Paths {
			if !seen[p] {
				seen[p] = true
				out = append(out, p)
			}
		}
	}
	for _, p := range []string{m.Platform.Chart, m.Platform.VersionFile} {
		if p != "" && !seen[p] {
			seen[p] = true
			out = append(out, p)
		}
	}
	for _, c := range m.Components {
		if c.Chart != "" && !seen[c.Chart] {
			seen[c.Chart] = true
			out = append(out, c.Chart)
		}
	}
	sort.Strings(out)
	return out
}

// Trees renders a component's own trees as "path=tree" pairs for a label a person can check with
// `git rev-parse <commit>:<path>`.
func Trees(c *manifest.Component, trees map[string]string) string {
	parts := make([]string, 0, len(c.Paths))
	for _, p := range c.Paths {
		parts = append(parts, p+"="+trees[p])
	}
	sort.Strings(parts)
	return strings.Join(parts, " ")
}

// ChartKeys computes every chart's key: the git tree of its directory and, for the umbrella, the
// keys of the charts it depends on. A chart is "already published" when its key matches, however
// the service code beside it changed: only the chart's own files make a chart. The umbrella's key
// is under "" + m.Platform.Chart's base name.
func ChartKeys(m *manifest.Manifest, trees map[string]string) (map[string]Key, error) {
	keys := map[string]Key{}
	chartKey := func(name, dir string, deps []string) (Key, error) {
		t, ok := trees[dir]
		if !ok || t == "" {
			return "", untracked(m.Root, name, dir, true)
		}
		h := sha256.New()
		fmt.Fprintf(h, "shiplane-chart-v1\nchart %s\ntree %s\n", name, t)
		for _, d := range deps {
			fmt.Fprintf(h, "dep %s %s\n", d, keys[d])
		}
		return Key("sha256:" + hex.EncodeToString(h.Sum(nil))), nil
	}
	var deps []string
	for _, c := range m.Components {
		if c.Chart == "" {
			continue
		}
		k, err := chartKey(c.Name, c.Chart, nil)
		if err != nil {
			return nil, err
		}
		keys[c.Name] = k
		deps = append(deps, c.Name)
	}
	if m.Platform.Chart != "" {
		sort.Strings(deps)
		k, err := chartKey(PlatformChart, m.Platform.Chart, deps)
		if err != nil {
			return nil, err
		}
		keys[PlatformChart] = k
	}
	return keys, nil
}

// PlatformChart is the key ChartKeys files the umbrella chart under.
const PlatformChart = "platform"

// ChartKeyWithImages is the key of a chart packaged pointing at images: chart is the chart's own
// key (from ChartKeys), and images maps the name of each image the package pins (for an umbrella,
// every subchart's) to what it pins, e.g. "registry.example/dev/core:1.2.0@sha256:…". Whatever
// the package writes from an image belongs in its value, so that a chart re-pointed at another
// image (another digest, another registry) is another package and gets another key.
//
// The result depends only on chart and the pairs of images, not on the map's order. With no
// images it is chart itself: a chart that pins nothing is what its files make it. With any image
// it is a new key, never equal to chart.
func ChartKeyWithImages(chart Key, images map[string]string) Key {
	if len(images) == 0 {
		return chart
	}
	names := make([]string, 0, len(images))
	for n := range images {
		names = append(names, n)
	}
	sort.Strings(names)
	h := sha256.New()
	fmt.Fprintf(h, "shiplane-chart-images-v1\nchart %q\n", chart)
	for _, n := range names {
		fmt.Fprintf(h, "image %q %q\n", n, images[n])
	}
	return Key("sha256:" + hex.EncodeToString(h.Sum(nil)))
}
