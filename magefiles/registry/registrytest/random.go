package registrytest

import (
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
)

// PushRandom writes a small random image to ref ("host:port/repo:tag" on a registry reached over
// plain HTTP) and returns its manifest digest.
func PushRandom(t testing.TB, ref string) string {
	t.Helper()
	img, err := random.Image(64, 1)
	if err != nil {
		t.Fatal(err)
	}
	return Push(t, ref, img).DigestStr()
}

// Push writes img to ref ("host:port/repo:tag", plain HTTP) and returns it by digest.
func Push(t testing.TB, ref string, img v1.Image) name.Digest {
	t.Helper()
	tag, err := name.NewTag(ref, name.Insecure)
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.Write(tag, img, remote.WithContext(t.Context())); err != nil {
		t.Fatal(err)
	}
	d, err := img.Digest()
	if err != nil {
		t.Fatal(err)
	}
	return tag.Context().Digest(d.String())
}
