// Package attest makes the statements a release publishes about an artifact: an SBOM (CycloneDX
// JSON) read from what is really in an image, and SLSA v1 provenance as an in-toto statement.
// Everything here is pure: the same inputs give the same bytes, with no clock, environment or
// network read. Signing and attaching them is package sign's job.
package attest

import (
	"archive/tar"
	"bytes"
	"crypto/sha256"
	"debug/buildinfo"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/url"
	"path"
	"runtime/debug"
	"slices"
	"strings"

	cdx "github.com/CycloneDX/cyclonedx-go"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
)

// SBOMPredicateType is the in-toto predicate type of a CycloneDX SBOM (cosign's "cyclonedx").
const SBOMPredicateType = "https://cyclonedx.org/bom"

// Property names the SBOM uses for Go build information.
const (
	PropGoVersion  = "shiplane:go:version"       // the Go toolchain that built a binary
	PropGoSetting  = "shiplane:go:setting:"      // prefix: one build setting, e.g. shiplane:go:setting:GOOS
	PropGoSum      = "shiplane:go:sum"           // a module's go.sum hash, as written there (h1:…)
	PropGoReplace  = "shiplane:go:replaced-with" // path@version of a module's replacement
	PropLayer      = "shiplane:oci:layer"        // the layer digest a listed file comes from
	PropBinaryPath = "shiplane:file:path"        // a Go binary's path in the image
)

// maxBinary is the largest file read to look for Go build information (larger files are skipped).
const maxBinary = 512 << 20

// SBOMOption configures SBOM.
type SBOMOption func(*sbomConfig)

type sbomConfig struct {
	name   string
	layers []v1.Hash
}

// WithName names the image in the SBOM's metadata component, e.g. "registry/core". Default: the
// image digest.
func WithName(name string) SBOMOption { return func(c *sbomConfig) { c.name = name } }

// WithLayerFiles lists every regular file of the image's layers with these digests (typically
// the base image's layers, which are not built by the suite) as file components with their
// SHA-256. A digest that is not a layer of the image is an error. Default: no layer is listed.
func WithLayerFiles(layers ...v1.Hash) SBOMOption {
	return func(c *sbomConfig) { c.layers = append(c.layers, layers...) }
}

// SBOM reads img and returns a CycloneDX 1.6 JSON SBOM of it: each Go binary in the image's
// final filesystem (any ELF file with Go build information) with its main module, its
// dependencies (version and go.sum hash) and its Go version and build settings as properties,
// plus the files of the layers WithLayerFiles names. The result is deterministic: it has no
// timestamp, its serial number is derived from the image digest, and components are sorted.
func SBOM(img v1.Image, opts ...SBOMOption) ([]byte, error) {
	var c sbomConfig
	for _, o := range opts {
		o(&c)
	}
	digest, err := img.Digest()
	if err != nil {
		return nil, fmt.Errorf("sbom: reading the image digest: %w", err)
	}
	name := c.name
	if name == "" {
		name = digest.String()
	}

	bins, err := goBinaries(img)
	if err != nil {
		return nil, fmt.Errorf("sbom of %s: %w", digest, err)
	}
	files, err := layerFiles(img, c.layers)
	if err != nil {
		return nil, fmt.Errorf("sbom of %s: %w", digest, err)
	}

	imageRef := "oci:" + digest.String()
	bom := cdx.NewBOM()
	bom.SerialNumber = serialNumber(digest)
	bom.Metadata = &cdx.Metadata{Component: &cdx.Component{
		BOMRef: imageRef, Type: cdx.ComponentTypeContainer, Name: name, Version: digest.String(),
		Hashes: &[]cdx.Hash{{Algorithm: cdx.HashAlgoSHA256, Value: digest.Hex}},
	}}

	modules := map[string]cdx.Component{} // by bom-ref (purl)
	var comps []cdx.Component
	var deps []cdx.Dependency
	var top []string
	moduleDeps := map[string][]string{}
	for _, b := range bins {
		binRef := "file:" + b.path
		top = append(top, binRef)
		props := []cdx.Property{{Name: PropBinaryPath, Value: b.path}, {Name: PropGoVersion, Value: b.info.GoVersion}}
		for _, s := range b.info.Settings {
			props = append(props, cdx.Property{Name: PropGoSetting + s.Key, Value: s.Value})
		}
		comps = append(comps, cdx.Component{
			BOMRef: binRef, Type: cdx.ComponentTypeApplication, Name: path.Base(b.path),
			Hashes: &[]cdx.Hash{{Algorithm: cdx.HashAlgoSHA256, Value: b.sha256}}, Properties: &props,
		})
		main := moduleComponent(&b.info.Main)
		modules[main.BOMRef] = main
		binDeps := []string{main.BOMRef}
		var mainDeps []string
		for _, d := range b.info.Deps {
			m := moduleComponent(d)
			modules[m.BOMRef] = m
			mainDeps = append(mainDeps, m.BOMRef)
		}
		deps = append(deps, cdx.Dependency{Ref: binRef, Dependencies: &binDeps})
		// Two binaries of one main module share its entry: the union of their dependencies.
		moduleDeps[main.BOMRef] = append(moduleDeps[main.BOMRef], mainDeps...)
	}
	for ref, ds := range moduleDeps {
		slices.Sort(ds)
		ds = slices.Compact(ds)
		if len(ds) > 0 {
			deps = append(deps, cdx.Dependency{Ref: ref, Dependencies: &ds})
		}
	}
	for _, m := range modules {
		comps = append(comps, m)
	}
	for _, f := range files {
		props := []cdx.Property{{Name: PropLayer, Value: f.layer}}
		comps = append(comps, cdx.Component{
			BOMRef: "file:" + f.layer + ":" + f.path, Type: cdx.ComponentTypeFile, Name: f.path,
			Hashes: &[]cdx.Hash{{Algorithm: cdx.HashAlgoSHA256, Value: f.sha256}}, Properties: &props,
		})
	}
	slices.SortFunc(comps, func(a, b cdx.Component) int { return strings.Compare(a.BOMRef, b.BOMRef) })
	slices.SortFunc(deps, func(a, b cdx.Dependency) int { return strings.Compare(a.Ref, b.Ref) })
	slices.Sort(top)
	deps = append([]cdx.Dependency{{Ref: imageRef, Dependencies: &top}}, deps...)
	bom.Components = &comps
	bom.Dependencies = &deps

	var buf bytes.Buffer
	enc := cdx.NewBOMEncoder(&buf, cdx.BOMFileFormatJSON)
	enc.SetPretty(true)
	enc.SetEscapeHTML(false)
	if err := enc.EncodeVersion(bom, cdx.SpecVersion1_6); err != nil {
		return nil, fmt.Errorf("sbom of %s: encoding: %w", digest, err)
	}
	return buf.Bytes(), nil
}

// moduleComponent is the library component of one Go module, its bom-ref its purl.
func moduleComponent(m *debug.Module) cdx.Component {
	version := m.Version
	var props []cdx.Property
	if m.Sum != "" {
		props = append(props, cdx.Property{Name: PropGoSum, Value: m.Sum})
	}
	var hashes []cdx.Hash
	if h, ok := h1SHA256(m.Sum); ok {
		hashes = append(hashes, cdx.Hash{Algorithm: cdx.HashAlgoSHA256, Value: h})
	}
	if m.Replace != nil {
		props = append(props, cdx.Property{Name: PropGoReplace, Value: m.Replace.Path + "@" + m.Replace.Version})
		if m.Replace.Sum != "" {
			props = append(props, cdx.Property{Name: PropGoSum, Value: m.Replace.Sum})
			if h, ok := h1SHA256(m.Replace.Sum); ok {
				hashes = []cdx.Hash{{Algorithm: cdx.HashAlgoSHA256, Value: h}}
			}
		}
	}
	purl := "pkg:golang/" + m.Path + "@" + url.PathEscape(version)
	c := cdx.Component{BOMRef: purl, Type: cdx.ComponentTypeLibrary, Name: m.Path, Version: version, PackageURL: purl}
	if len(props) > 0 {
		c.Properties = &props
	}
	if len(hashes) > 0 {
		c.Hashes = &hashes
	}
	return c
}

// h1SHA256 turns a go.sum "h1:<base64>" hash into hex SHA-256 (h1 is a SHA-256 over the module's
// file list, so it is a SHA-256 value, though not of a single file).
func h1SHA256(sum string) (string, bool) {
	b64, ok := strings.CutPrefix(sum, "h1:")
	if !ok {
		return "", false
	}
	raw, err := base64.StdEncoding.DecodeString(b64)
	if err != nil || len(raw) != sha256.Size {
		return "", false
	}
	return hex.EncodeToString(raw), true
}

// serialNumber is a version-4-shaped UUID URN taken from the image digest, so the same image
// always gets the same serial number.
func serialNumber(d v1.Hash) string {
	s := sha256.Sum256([]byte("shiplane-sbom:" + d.String()))
	u := s[:16]
	u[6] = (u[6] & 0x0f) | 0x40
	u[8] = (u[8] & 0x3f) | 0x80
	h := hex.EncodeToString(u)
	return fmt.Sprintf("urn:uuid:%s-%s-%s-%s-%s", h[0:8], h[8:12], h[12:16], h[16:20], h[20:32])
}

type goBinary struct {
	path   string
	sha256 string
	info   *buildinfo.BuildInfo
}

var elfMagic = []byte("\x7fELF")

// goBinaries reads the image's final filesystem and returns its Go binaries, sorted by path.
func goBinaries(img v1.Image) ([]goBinary, error) {
	rc := mutate.Extract(img)
	defer rc.Close()
	tr := tar.NewReader(rc)
	var out []goBinary
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("reading the image filesystem: %w", err)
		}
		if h.Typeflag != tar.TypeReg || h.Size < int64(len(elfMagic)) || h.Size > maxBinary {
			continue
		}
		head := make([]byte, len(elfMagic))
		if _, err := io.ReadFull(tr, head); err != nil {
			return nil, fmt.Errorf("reading %s: %w", h.Name, err)
		}
		if !bytes.Equal(head, elfMagic) {
			continue
		}
		rest, err := io.ReadAll(tr)
		if err != nil {
			return nil, fmt.Errorf("reading %s: %w", h.Name, err)
		}
		data := append(head, rest...)
		info, err := buildinfo.Read(bytes.NewReader(data))
		if err != nil {
			continue // an ELF file without Go build information: not a Go binary
		}
		sum := sha256.Sum256(data)
		out = append(out, goBinary{path: "/" + strings.TrimPrefix(path.Clean("/"+h.Name), "/"), sha256: hex.EncodeToString(sum[:]), info: info})
	}
	slices.SortFunc(out, func(a, b goBinary) int { return strings.Compare(a.path, b.path) })
	return out, nil
}

type layerFile struct {
	layer, path, sha256 string
}

// layerFiles lists the regular files of the layers with the given digests, sorted.
func layerFiles(img v1.Image, want []v1.Hash) ([]layerFile, error) {
	if len(want) == 0 {
		return nil, nil
	}
	layers, err := img.Layers()
	if err != nil {
		return nil, fmt.Errorf("listing layers: %w", err)
	}
	var out []layerFile
	for _, w := range want {
		var found v1.Layer
		for _, l := range layers {
			if d, err := l.Digest(); err == nil && d == w {
				found = l
				break
			}
		}
		if found == nil {
			return nil, fmt.Errorf("layer %s: %w", w, ErrNoSuchLayer)
		}
		files, err := listLayer(found, w.String())
		if err != nil {
			return nil, fmt.Errorf("listing layer %s: %w", w, err)
		}
		out = append(out, files...)
	}
	slices.SortFunc(out, func(a, b layerFile) int {
		return strings.Compare(a.layer+"\x00"+a.path, b.layer+"\x00"+b.path)
	})
	return out, nil
}

// ErrNoSuchLayer is returned (wrapped) when WithLayerFiles names a layer the image does not have.
var ErrNoSuchLayer = errors.New("not a layer of the image")

func listLayer(l v1.Layer, digest string) ([]layerFile, error) {
	rc, err := l.Uncompressed()
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	tr := tar.NewReader(rc)
	var out []layerFile
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return out, nil
		}
		if err != nil {
			return nil, err
		}
		if h.Typeflag != tar.TypeReg {
			continue
		}
		s := sha256.New()
		if _, err := io.Copy(s, tr); err != nil {
			return nil, fmt.Errorf("reading %s: %w", h.Name, err)
		}
		out = append(out, layerFile{layer: digest, path: "/" + strings.TrimPrefix(path.Clean("/"+h.Name), "/"), sha256: hex.EncodeToString(s.Sum(nil))})
	}
}
