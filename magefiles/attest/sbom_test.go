package attest_test

import (
	"archive/tar"
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	cdx "github.com/CycloneDX/cyclonedx-go"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"

	"github.com/shiplane/shiplane/magefiles/attest"
)

// depModule is the dependency the test binary imports: one already required by this module, so
// it is in the module cache.
const (
	depPath    = "github.com/Masterminds/semver/v3"
	depVersion = "v3.5.0"
)

// buildGoBinary compiles a small main package that imports depPath, the way the suite builds
// (CGO_ENABLED=0, -trimpath), and returns the binary.
func buildGoBinary(t *testing.T) []byte {
	t.Helper()
	dir := t.TempDir()
	write := func(name, content string) {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("go.mod", "module example.com/sbomdemo\n\ngo 1.26\n\nrequire "+depPath+" "+depVersion+"\n")
	write("main.go", `package main

import (
	"fmt"

	"github.com/Masterminds/semver/v3"
)

func main() { fmt.Println(semver.MustParse("1.2.3")) }
`)
	// The go.sum line comes from this module's own go.sum (no network needed).
	sums, err := os.ReadFile(filepath.Join("..", "..", "go.sum"))
	if err != nil {
		t.Fatal(err)
	}
	var keep []string
	for _, line := range strings.Split(string(sums), "\n") {
		if strings.HasPrefix(line, depPath+" "+depVersion+" ") || strings.HasPrefix(line, depPath+" "+depVersion+"/go.mod ") {
			keep = append(keep, line)
		}
	}
	write("go.sum", strings.Join(keep, "\n")+"\n")
	out := filepath.Join(dir, "app")
	cmd := exec.Command("go", "build", "-trimpath", "-o", out, ".")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux", "GOARCH="+runtime.GOARCH, "GOFLAGS=-mod=mod", "GOWORK=off")
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, b)
	}
	bin, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	return bin
}

// tarLayer makes an uncompressed tarball layer of name → content.
func tarLayer(t *testing.T, files map[string][]byte, order ...string) v1.Layer {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, name := range order {
		if err := tw.WriteHeader(&tar.Header{Name: name, Mode: 0o755, Size: int64(len(files[name])), Typeflag: tar.TypeReg}); err != nil {
			t.Fatal(err)
		}
		if _, err := tw.Write(files[name]); err != nil {
			t.Fatal(err)
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	b := buf.Bytes()
	l, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(b)), nil })
	if err != nil {
		t.Fatal(err)
	}
	return l
}

// imageWithGoBinary is a two-layer image: a "base" layer (CA bundle, passwd) and a layer with a Go
// binary at /usr/local/bin/app.
func imageWithGoBinary(t *testing.T) (v1.Image, v1.Hash) {
	t.Helper()
	base := tarLayer(t, map[string][]byte{
		"etc/ssl/certs/ca-certificates.crt": []byte("not really a CA bundle\n"),
		"etc/passwd":                        []byte("app:x:65532:65532::/:/sbin/nologin\n"),
	}, "etc/passwd", "etc/ssl/certs/ca-certificates.crt")
	app := tarLayer(t, map[string][]byte{"usr/local/bin/app": buildGoBinary(t)}, "usr/local/bin/app")
	img, err := mutate.AppendLayers(empty.Image, base, app)
	if err != nil {
		t.Fatal(err)
	}
	d, err := base.Digest()
	if err != nil {
		t.Fatal(err)
	}
	return img, d
}

func TestSBOMNamesGoModulesAndIsDeterministic(t *testing.T) {
	img, baseLayer := imageWithGoBinary(t)
	first, err := attest.SBOM(img, attest.WithName("registry.example/app"), attest.WithLayerFiles(baseLayer))
	if err != nil {
		t.Fatal(err)
	}
	second, err := attest.SBOM(img, attest.WithName("registry.example/app"), attest.WithLayerFiles(baseLayer))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(first, second) {
		t.Fatalf("two SBOMs of one image differ:\n%s\n---\n%s", first, second)
	}

	var bom cdx.BOM
	if err := cdx.NewBOMDecoder(bytes.NewReader(first), cdx.BOMFileFormatJSON).Decode(&bom); err != nil {
		t.Fatalf("the SBOM does not decode as CycloneDX: %v\n%s", err, first)
	}
	digest, _ := img.Digest()
	if bom.Metadata == nil || bom.Metadata.Component == nil || bom.Metadata.Component.Version != digest.String() {
		t.Errorf("metadata component does not name the image digest %s", digest)
	}
	if bom.SerialNumber == "" || bom.Metadata.Timestamp != "" {
		t.Errorf("serial %q, timestamp %q: want a serial number and no timestamp", bom.SerialNumber, bom.Metadata.Timestamp)
	}

	byName := map[string]cdx.Component{}
	for _, c := range *bom.Components {
		byName[c.Name] = c
	}
	main, ok := byName["example.com/sbomdemo"]
	if !ok || main.Type != cdx.ComponentTypeLibrary {
		t.Errorf("no library component for the main module example.com/sbomdemo; components: %v", names(bom))
	}
	dep, ok := byName[depPath]
	if !ok {
		t.Fatalf("no component for the dependency %s; components: %v", depPath, names(bom))
	}
	if dep.Version != depVersion || dep.PackageURL != "pkg:golang/"+depPath+"@"+depVersion {
		t.Errorf("dependency version %q purl %q, want %s", dep.Version, dep.PackageURL, depVersion)
	}
	if p := prop(dep, attest.PropGoSum); !strings.HasPrefix(p, "h1:") {
		t.Errorf("dependency go.sum hash %q, want h1:…", p)
	}
	if dep.Hashes == nil || len(*dep.Hashes) != 1 || len((*dep.Hashes)[0].Value) != 64 {
		t.Errorf("dependency hashes %v, want one SHA-256", dep.Hashes)
	}
	bin, ok := byName["app"]
	if !ok || bin.Type != cdx.ComponentTypeApplication {
		t.Fatalf("no application component for /usr/local/bin/app; components: %v", names(bom))
	}
	if v := prop(bin, attest.PropGoVersion); v != runtime.Version() {
		t.Errorf("binary Go version %q, want %s", v, runtime.Version())
	}
	if v := prop(bin, attest.PropGoSetting+"CGO_ENABLED"); v != "0" {
		t.Errorf("binary build setting CGO_ENABLED %q, want 0", v)
	}
	if v := prop(bin, attest.PropGoSetting+"-trimpath"); v != "true" {
		t.Errorf("binary build setting -trimpath %q, want true", v)
	}
	if _, ok := byName["/etc/ssl/certs/ca-certificates.crt"]; !ok {
		t.Errorf("the base layer's files are not listed; components: %v", names(bom))
	}
	// The binary's own layer is not listed file by file.
	if _, ok := byName["/usr/local/bin/app"]; ok {
		t.Errorf("the app layer was listed though WithLayerFiles named only the base layer")
	}
}

func TestSBOMWithoutLayerFilesListsNoFiles(t *testing.T) {
	img, _ := imageWithGoBinary(t)
	b, err := attest.SBOM(img)
	if err != nil {
		t.Fatal(err)
	}
	var bom cdx.BOM
	if err := json.Unmarshal(b, &bom); err != nil {
		t.Fatal(err)
	}
	for _, c := range *bom.Components {
		if c.Type == cdx.ComponentTypeFile {
			t.Errorf("file component %q listed by default", c.Name)
		}
	}
}

func TestSBOMUnknownLayerFails(t *testing.T) {
	img, _ := imageWithGoBinary(t)
	_, err := attest.SBOM(img, attest.WithLayerFiles(v1.Hash{Algorithm: "sha256", Hex: strings.Repeat("0", 64)}))
	if !errors.Is(err, attest.ErrNoSuchLayer) {
		t.Fatalf("err = %v, want ErrNoSuchLayer", err)
	}
}

func names(bom cdx.BOM) []string {
	var out []string
	for _, c := range *bom.Components {
		out = append(out, c.Name)
	}
	return out
}

func prop(c cdx.Component, name string) string {
	if c.Properties == nil {
		return ""
	}
	for _, p := range *c.Properties {
		if p.Name == name {
			return p.Value
		}
	}
	return ""
}
