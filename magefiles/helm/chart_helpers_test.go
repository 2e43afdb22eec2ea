package helm_test

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/shiplane/shiplane/magefiles/helm"
	"github.com/shiplane/shiplane/magefiles/identity"
)

// leafCharts are the repository's charts that the umbrella depends on, in push order.
var leafCharts = []string{"core", "connector-fs", "connector-webhook", "scanner", "web"}

// commitTime stands for the commit time every package is stamped with.
var commitTime = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

// isolateCredentials points Helm's and Docker's credential stores at empty temporary
// directories, so no test reads the machine's credentials.
func isolateCredentials(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	t.Setenv("HELM_CONFIG_HOME", filepath.Join(dir, "helm"))
	t.Setenv("DOCKER_CONFIG", filepath.Join(dir, "docker"))
	return dir
}

// repoCharts is the repository's charts/ directory.
func repoCharts(t *testing.T) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			break
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("no go.mod above the test directory")
		}
		dir = parent
	}
	charts := filepath.Join(dir, "charts")
	if _, err := os.Stat(filepath.Join(charts, "platform", "Chart.yaml")); err != nil {
		t.Fatalf("the repository's charts are missing: %v", err)
	}
	return charts
}

// copyCharts copies the repository's charts/ into a fresh directory. With jitter, every file and
// directory gets a different modification time.
func copyCharts(t *testing.T, jitter bool) string {
	t.Helper()
	src := repoCharts(t)
	dst := filepath.Join(t.TempDir(), "charts")
	i := 0
	var dirs []string
	err := filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		target := filepath.Join(dst, rel)
		if d.IsDir() {
			dirs = append(dirs, target)
			return os.MkdirAll(target, 0o755)
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		if err := os.WriteFile(target, b, 0o600); err != nil {
			return err
		}
		if jitter {
			i++
			mt := time.Date(2001, 2, 3, 4, 5, 6, 0, time.UTC).Add(time.Duration(i) * 7919 * time.Second)
			return os.Chtimes(target, mt, mt)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if jitter {
		for j := len(dirs) - 1; j >= 0; j-- {
			mt := time.Date(1999, 1, 1, 0, 0, 0, 0, time.UTC).Add(time.Duration(j) * time.Hour)
			if err := os.Chtimes(dirs[j], mt, mt); err != nil {
				t.Fatal(err)
			}
		}
	}
	return dst
}

func stampFor(name string, created time.Time) helm.Stamp {
	sum := sha256.Sum256([]byte("inputs of " + name))
	return helm.Stamp{
		Created:     created,
		Revision:    "0123456789abcdef0123456789abcdef01234567",
		Source:      "https://github.com/shiplane/shiplane",
		Inputs:      identity.Key("sha256:" + hex.EncodeToString(sum[:])),
		Annotations: map[string]string{identity.LabelComponent: name},
	}
}

// packageAll packages the leaf charts of charts and then the umbrella, pointing it at repo with
// the leaves vendored from the packages just made.
func packageAll(t *testing.T, ctx context.Context, charts, repo string, created time.Time, opts ...helm.PackageOption) (map[string]*helm.Package, *helm.Package) {
	t.Helper()
	out := t.TempDir()
	leaves := map[string]*helm.Package{}
	versions := map[string]string{}
	var pkgs []*helm.Package
	for _, name := range leafCharts {
		o := append([]helm.PackageOption{helm.WithOutputDir(out)}, opts...)
		p, err := helm.PackageChart(ctx, filepath.Join(charts, name), stampFor(name, created), o...)
		if err != nil {
			t.Fatalf("packaging %s: %v", name, err)
		}
		leaves[name] = p
		versions[name] = p.Version
		pkgs = append(pkgs, p)
	}
	o := append([]helm.PackageOption{helm.WithOutputDir(out), helm.WithDependencies(repo, versions), helm.WithVendored(pkgs...)}, opts...)
	platform, err := helm.PackageChart(ctx, filepath.Join(charts, "platform"), stampFor("platform", created), o...)
	if err != nil {
		t.Fatalf("packaging platform: %v", err)
	}
	return leaves, platform
}

// treeHash hashes every path, mode, modification time and content under dir.
func treeHash(t *testing.T, dir string) string {
	t.Helper()
	h := sha256.New()
	var lines []string
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		fi, err := os.Lstat(p)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		line := fmt.Sprintf("%s %v %d", rel, fi.Mode(), fi.ModTime().UnixNano())
		if fi.Mode().IsRegular() {
			b, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			s := sha256.Sum256(b)
			line += " " + hex.EncodeToString(s[:])
		}
		lines = append(lines, line)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	sort.Strings(lines)
	io.WriteString(h, strings.Join(lines, "\n"))
	return hex.EncodeToString(h.Sum(nil))
}

// tarEntries lists an archive's entries with their modification times.
func tarEntries(t *testing.T, data []byte) map[string]time.Time {
	t.Helper()
	zr, err := gzip.NewReader(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	tr := tar.NewReader(zr)
	out := map[string]time.Time{}
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return out
		}
		if err != nil {
			t.Fatal(err)
		}
		out[h.Name] = h.ModTime
	}
}

// logWriter sends progress to the test log.
type logWriter struct{ t *testing.T }

func (w logWriter) Write(p []byte) (int, error) {
	w.t.Helper()
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

func readFile(t *testing.T, p string) []byte {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
