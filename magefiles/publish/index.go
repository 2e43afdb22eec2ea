package publish

import (
	"fmt"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// PlatformImage is one platform's image of a multi-platform push.
type PlatformImage struct {
	// Platform is "os/arch[/variant]", e.g. "linux/arm64".
	Platform string
	Image    v1.Image
}

// Index is the OCI image index of the platforms' images, in the order given: each image in OCI
// media types (OCIImage), each entry carrying the platform its config names. The result is a pure
// function of the images, so the same images give the same index digest on any machine. An image
// whose config names another platform than the one it is listed for (a build that ignored the
// platform asked for) is refused, as is a platform listed twice.
func Index(imgs []PlatformImage) (v1.ImageIndex, error) {
	if len(imgs) == 0 {
		return nil, fmt.Errorf("an image index needs at least one platform's image")
	}
	idx := mutate.IndexMediaType(empty.Index, types.OCIImageIndex)
	seen := map[string]bool{}
	for _, pi := range imgs {
		want, err := v1.ParsePlatform(pi.Platform)
		if err != nil {
			return nil, fmt.Errorf("platform %q: %w (write it as os/arch or os/arch/variant, e.g. linux/arm64)", pi.Platform, err)
		}
		if seen[want.String()] {
			return nil, fmt.Errorf("platform %s is listed twice", want)
		}
		seen[want.String()] = true
		cf, err := pi.Image.ConfigFile()
		if err != nil {
			return nil, fmt.Errorf("reading the %s image's config: %w", pi.Platform, err)
		}
		have := cf.Platform()
		if have == nil || have.OS != want.OS || have.Architecture != want.Architecture || (want.Variant != "" && have.Variant != want.Variant) {
			return nil, fmt.Errorf("the image built for %s says it is for %s in its config: the build did not honour the platform; "+
				"build it again for %s (the daemon must support the build API's platform parameter)", want, platformString(have), want)
		}
		img, err := OCIImage(pi.Image)
		if err != nil {
			return nil, fmt.Errorf("the %s image: %w", pi.Platform, err)
		}
		idx = mutate.AppendManifests(idx, mutate.IndexAddendum{Add: img, Descriptor: v1.Descriptor{Platform: have}})
	}
	return idx, nil
}

func platformString(p *v1.Platform) string {
	if p == nil || p.OS == "" {
		return "no platform"
	}
	return p.String()
}

// OCIImage is img in OCI media types: its manifest, config and layers (Docker's gzip, uncompressed
// and foreign layers become their OCI equivalents). The layers are kept byte for byte and the
// config field for field (it is encoded again, as every rewrite of a config is), so the result is
// a pure function of the image: the same image gives the same digest. An image already in OCI
// media types is returned as it is.
func OCIImage(img v1.Image) (v1.Image, error) {
	mt, err := img.MediaType()
	if err != nil {
		return nil, fmt.Errorf("reading the manifest's media type: %w", err)
	}
	if mt == types.OCIManifestSchema1 {
		return img, nil
	}
	ls, err := img.Layers()
	if err != nil {
		return nil, fmt.Errorf("reading the layers: %w", err)
	}
	cf, err := img.ConfigFile()
	if err != nil {
		return nil, fmt.Errorf("reading the config: %w", err)
	}
	adds := make([]mutate.Addendum, len(ls))
	for i, l := range ls {
		lmt, err := l.MediaType()
		if err != nil {
			return nil, fmt.Errorf("reading a layer's media type: %w", err)
		}
		adds[i] = mutate.Addendum{Layer: l, MediaType: ociLayer(lmt)}
	}
	base := mutate.ConfigMediaType(mutate.MediaType(empty.Image, types.OCIManifestSchema1), types.OCIConfigJSON)
	out, err := mutate.Append(base, adds...)
	if err != nil {
		return nil, fmt.Errorf("rewriting the manifest: %w", err)
	}
	// The config as it was: Append added a history entry per layer, the original has its own.
	if out, err = mutate.ConfigFile(out, cf); err != nil {
		return nil, fmt.Errorf("keeping the config: %w", err)
	}
	return out, nil
}

func ociLayer(mt types.MediaType) types.MediaType {
	switch mt {
	case types.DockerLayer:
		return types.OCILayer
	case types.DockerUncompressedLayer:
		return types.OCIUncompressedLayer
	case types.DockerForeignLayer:
		return types.OCIRestrictedLayer
	}
	return mt
}
