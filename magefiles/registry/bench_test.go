package registry_test

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net/http"
	"testing"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/shiplane/shiplane/magefiles/identity"
	"github.com/shiplane/shiplane/magefiles/registry"
	"github.com/shiplane/shiplane/magefiles/registry/registrytest"
)

// platform is a base image (one 4 MiB layer) and four images FROM it (one 256 KiB layer each),
// like base, core, two connectors and the scanner.
type platform struct {
	names  []string
	images []v1.Image
	unique int64 // sum of the sizes of the distinct blobs (layers and configs)
}

func newPlatform(b *testing.B) platform {
	base := labelled(b, nil, 4<<20, 1, map[string]string{identity.LabelComponent: "base"})
	p := platform{names: []string{"base"}, images: []v1.Image{base}}
	for _, n := range []string{"core", "connector-fs", "connector-webhook", "scanner"} {
		p.names = append(p.names, n)
		p.images = append(p.images, labelled(b, base, 256<<10, 1, map[string]string{identity.LabelComponent: n}))
	}
	seen := map[v1.Hash]bool{}
	for _, img := range p.images {
		m, err := img.Manifest()
		if err != nil {
			b.Fatal(err)
		}
		for _, d := range append([]v1.Descriptor{m.Config}, m.Layers...) {
			if !seen[d.Digest] {
				seen[d.Digest] = true
				p.unique += d.Size
			}
		}
	}
	return p
}

func (p platform) push(b *testing.B, reg *registrytest.Registry, client func() *registry.Client) {
	for i, img := range p.images {
		tags := []string{reg.Ref(p.names[i] + ":1.0.0"), reg.Ref(p.names[i] + ":latest")}
		if _, err := client().Push(b.Context(), img, tags); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkFirstPush pushes the platform to an empty registry: "set" with one client (the base
// layer is uploaded once and mounted into the other repositories), "each-on-its-own" with a new
// client per image (as separate processes without hints would: the base layer goes every time).
func BenchmarkFirstPush(b *testing.B) {
	p := newPlatform(b)
	for _, mode := range []string{"set", "each-on-its-own"} {
		b.Run(mode, func(b *testing.B) {
			var bytesIn, reqs, heads int64
			for b.Loop() {
				b.StopTimer()
				reg := registrytest.New(b)
				shared := newClient()
				client := func() *registry.Client { return shared }
				if mode != "set" {
					client = func() *registry.Client { return newClient() }
				}
				b.StartTimer()
				p.push(b, reg, client)
				b.StopTimer()
				bytesIn += reg.BytesIn("/blobs/uploads/")
				reqs += int64(len(reg.Requests()))
				heads += int64(reg.Count(http.MethodHead, "/manifests/"))
				reg.Close()
				b.StartTimer()
			}
			n := float64(b.N)
			b.ReportMetric(float64(bytesIn)/n/float64(p.unique), "uploaded/unique")
			b.ReportMetric(float64(bytesIn)/n/(1<<20), "MiB-uploaded/op")
			b.ReportMetric(float64(reqs)/n, "requests/op")
			b.ReportMetric(float64(heads)/n/float64(2*len(p.images)), "manifest-HEADs/tag")
		})
	}
}

// BenchmarkSecondPush pushes the unchanged platform again, each time from a new client (a new
// process): per artifact it costs one manifest HEAD per tag plus the /v2/ ping, and no writes.
func BenchmarkSecondPush(b *testing.B) {
	p := newPlatform(b)
	reg := registrytest.New(b)
	p.push(b, reg, func() *registry.Client { return newClient() })
	var reqs, heads, writes int64
	for b.Loop() {
		b.StopTimer()
		reg.Reset()
		c := newClient()
		b.StartTimer()
		p.push(b, reg, func() *registry.Client { return c })
		b.StopTimer()
		reqs += int64(len(reg.Requests()))
		heads += int64(reg.Count(http.MethodHead, "/manifests/"))
		writes += int64(reg.Writes())
		b.StartTimer()
	}
	n := float64(b.N) * float64(len(p.images))
	b.ReportMetric(float64(reqs)/n, "requests/artifact")
	b.ReportMetric(float64(heads)/n/2, "manifest-HEADs/tag")
	b.ReportMetric(float64(writes)/n, "writes/artifact")
}

// BenchmarkDaemonDigest computes the registry digest of an image read from the Docker daemon (an
// 8 MiB layer of its own FROM a 4 MiB base), as Assess does for a new build: "cold" with an empty
// layer memo (one export, every layer gzipped once), "warm" with the layers in the memo (one
// export, nothing gzipped). It needs Docker.
func BenchmarkDaemonDigest(b *testing.B) {
	dc := dockerClient(b)
	id := fmt.Sprint(time.Now().UnixNano())
	base, app := "shiplane-registrybench/base:"+id, "shiplane-registrybench/app:"+id
	build(b, dc, base, "FROM scratch\nCOPY f /base\n", "f", noise(b, 2<<20))
	build(b, dc, app, "FROM "+base+"\nCOPY f /app\n", "f", noise(b, 4<<20))
	warm := newMemo()
	d := registry.NewDaemon(dc, registry.WithLayerMemo(warm))
	if img, err := d.LocalImage(b.Context(), app); err != nil {
		b.Fatal(err)
	} else if _, err := img.Digest(); err != nil {
		b.Fatal(err)
	}
	_ = d.Close()
	for _, mode := range []string{"cold", "warm"} {
		b.Run(mode, func(b *testing.B) {
			var gz int64
			for b.Loop() {
				m := warm
				if mode == "cold" {
					m = newMemo()
				}
				d := registry.NewDaemon(dc, registry.WithLayerMemo(m), registry.OnCompress(func(string) { gz++ }))
				img, err := d.LocalImage(b.Context(), app)
				if err != nil {
					b.Fatal(err)
				}
				if _, err := img.Digest(); err != nil {
					b.Fatal(err)
				}
				_ = d.Close()
			}
			b.ReportMetric(float64(gz)/float64(b.N), "gzip-passes/op")
		})
	}
}

// noise is n random bytes, hex-encoded (2n bytes that compress to about half).
func noise(b *testing.B, n int) string {
	buf := make([]byte, n)
	if _, err := rand.Read(buf); err != nil {
		b.Fatal(err)
	}
	return hex.EncodeToString(buf)
}
