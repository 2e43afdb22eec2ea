package helm

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"path"
	"sort"
	"strings"
	"time"

	"github.com/opencontainers/go-digest"
	specs "github.com/opencontainers/image-spec/specs-go"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"helm.sh/helm/v3/pkg/chart"
	"helm.sh/helm/v3/pkg/chart/loader"
	"helm.sh/helm/v3/pkg/chartutil"
	"helm.sh/helm/v3/pkg/registry"
	"sigs.k8s.io/yaml"
)

// helmGzipExtra and helmGzipComment are the gzip header chartutil.Save writes; kept so our
// archives look like helm's own.
var helmGzipExtra = []byte("+aHR0cHM6Ly95b3V0dS5iZS96OVV6MWljandyTQo=")

const helmGzipComment = "Helm"

// archiveChart writes c as a chart archive laid out exactly as chartutil.Save lays it out, except
// that every entry's modification time is mtime and subcharts are written in name order.
// chartutil.Save stamps entries with time.Now() and the loader keeps subcharts in map order, so
// its output differs from run to run; this output depends only on the chart's content and mtime.
func archiveChart(c *chart.Chart, mtime time.Time) ([]byte, error) {
	if err := c.Validate(); err != nil {
		return nil, fmt.Errorf("validating chart: %w", err)
	}
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	zw.Header.Extra = helmGzipExtra
	zw.Header.Comment = helmGzipComment
	// Header.ModTime stays zero: gzip then records no time at all.
	tw := tar.NewWriter(zw)
	if err := writeChartTar(tw, c, "", mtime.UTC().Truncate(time.Second)); err != nil {
		return nil, err
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	if err := zw.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// writeChartTar mirrors chartutil's writeTarContents.
func writeChartTar(out *tar.Writer, c *chart.Chart, prefix string, mtime time.Time) error {
	name := c.Name()
	if name == "" || path.Base(name) != name || strings.ContainsAny(name, `/\`) {
		return chartutil.ErrInvalidChartName{Name: name}
	}
	base := path.Join(prefix, name)

	md := *c.Metadata
	if md.APIVersion == chart.APIVersionV1 {
		md.Dependencies = nil
	}
	cdata, err := yaml.Marshal(&md)
	if err != nil {
		return fmt.Errorf("encoding %s: %w", path.Join(base, chartutil.ChartfileName), err)
	}
	if err := writeTarFile(out, path.Join(base, chartutil.ChartfileName), cdata, mtime); err != nil {
		return err
	}
	if md.APIVersion == chart.APIVersionV2 && c.Lock != nil {
		ldata, err := yaml.Marshal(c.Lock)
		if err != nil {
			return fmt.Errorf("encoding %s: %w", path.Join(base, "Chart.lock"), err)
		}
		if err := writeTarFile(out, path.Join(base, "Chart.lock"), ldata, mtime); err != nil {
			return err
		}
	}
	for _, f := range c.Raw {
		if f.Name == chartutil.ValuesfileName {
			if err := writeTarFile(out, path.Join(base, chartutil.ValuesfileName), f.Data, mtime); err != nil {
				return err
			}
		}
	}
	if c.Schema != nil {
		if !json.Valid(c.Schema) {
			return fmt.Errorf("%s: invalid JSON in %s", base, chartutil.SchemafileName)
		}
		if err := writeTarFile(out, path.Join(base, chartutil.SchemafileName), c.Schema, mtime); err != nil {
			return err
		}
	}
	for _, group := range [][]*chart.File{c.Templates, c.Files} {
		for _, f := range group {
			if err := writeTarFile(out, path.Join(base, f.Name), f.Data, mtime); err != nil {
				return err
			}
		}
	}
	deps := append([]*chart.Chart(nil), c.Dependencies()...)
	sort.SliceStable(deps, func(i, j int) bool {
		if deps[i].Name() != deps[j].Name() {
			return deps[i].Name() < deps[j].Name()
		}
		return deps[i].Metadata.Version < deps[j].Metadata.Version
	})
	for _, d := range deps {
		if err := writeChartTar(out, d, path.Join(base, chartutil.ChartsDir), mtime); err != nil {
			return err
		}
	}
	return nil
}

func writeTarFile(out *tar.Writer, name string, body []byte, mtime time.Time) error {
	h := &tar.Header{
		Typeflag: tar.TypeReg,
		Name:     name,
		Mode:     0o644,
		Size:     int64(len(body)),
		ModTime:  mtime,
	}
	if err := out.WriteHeader(h); err != nil {
		return fmt.Errorf("archiving %s: %w", name, err)
	}
	if _, err := out.Write(body); err != nil {
		return fmt.Errorf("archiving %s: %w", name, err)
	}
	return nil
}

// ociManifest is the manifest registry.Client.Push writes for a chart archive pushed with
// PushOptCreationTime(created): its digest is known before anything is sent.
type ociManifest struct {
	Digest      string
	Bytes       []byte
	Annotations map[string]string
}

// predictManifest builds the manifest registry.Client.Push (helm v3.22, pkg/registry/client.go)
// builds for data: the chart layer and the config (the archive's Chart.yaml as JSON), and the
// annotations of generateOCIAnnotations. Push's answer is checked against it.
func predictManifest(data []byte, created time.Time) (*ociManifest, error) {
	c, err := loader.LoadArchive(bytes.NewReader(data))
	if err != nil {
		return nil, fmt.Errorf("reading the archive back: %w", err)
	}
	meta := c.Metadata
	config, err := json.Marshal(meta)
	if err != nil {
		return nil, fmt.Errorf("encoding the chart config: %w", err)
	}
	m := ocispec.Manifest{
		Versioned: specs.Versioned{SchemaVersion: 2},
		Config: ocispec.Descriptor{
			MediaType: registry.ConfigMediaType,
			Digest:    digest.FromBytes(config),
			Size:      int64(len(config)),
		},
		Layers: []ocispec.Descriptor{{
			MediaType: registry.ChartLayerMediaType,
			Digest:    digest.FromBytes(data),
			Size:      int64(len(data)),
		}},
		Annotations: manifestAnnotations(meta, created),
	}
	b, err := json.Marshal(m)
	if err != nil {
		return nil, fmt.Errorf("encoding the manifest: %w", err)
	}
	return &ociManifest{Digest: digest.FromBytes(b).String(), Bytes: b, Annotations: m.Annotations}, nil
}

// manifestAnnotations mirrors helm's generateOCIAnnotations: OCI keys from the chart's metadata,
// then every Chart.yaml annotation except the version and title, which stay the chart's own.
func manifestAnnotations(meta *chart.Metadata, created time.Time) map[string]string {
	a := map[string]string{}
	add := func(k, v string) {
		if strings.TrimSpace(v) != "" {
			a[k] = v
		}
	}
	add(ocispec.AnnotationDescription, meta.Description)
	add(ocispec.AnnotationTitle, meta.Name)
	add(ocispec.AnnotationVersion, meta.Version)
	add(ocispec.AnnotationURL, meta.Home)
	add(ocispec.AnnotationCreated, createdString(created))
	if len(meta.Sources) > 0 {
		add(ocispec.AnnotationSource, meta.Sources[0])
	}
	if len(meta.Maintainers) > 0 {
		var sb strings.Builder
		for i, m := range meta.Maintainers {
			if m == nil {
				continue
			}
			sb.WriteString(m.Name)
			if m.Email != "" {
				sb.WriteString(" (" + m.Email + ")")
			}
			if i < len(meta.Maintainers)-1 {
				sb.WriteString(", ")
			}
		}
		add(ocispec.AnnotationAuthors, sb.String())
	}
	for k, v := range meta.Annotations {
		if k == ocispec.AnnotationVersion || k == ocispec.AnnotationTitle {
			continue
		}
		a[k] = v
	}
	return a
}

// createdString is the created annotation's value: RFC 3339 in UTC, whole seconds.
func createdString(t time.Time) string {
	return t.UTC().Truncate(time.Second).Format(time.RFC3339)
}

func sha256Digest(b []byte) string {
	s := sha256.Sum256(b)
	return "sha256:" + hex.EncodeToString(s[:])
}

var errNoCreated = errors.New("no creation time: set Stamp.Created to the commit time so the package is reproducible")
