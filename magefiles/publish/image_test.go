package publish_test

import (
	"errors"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/random"

	"github.com/shiplane/shiplane/magefiles/guard"
	"github.com/shiplane/shiplane/magefiles/identity"
	"github.com/shiplane/shiplane/magefiles/publish"
	"github.com/shiplane/shiplane/magefiles/registry"
	"github.com/shiplane/shiplane/magefiles/registry/registrytest"
)

func labelled(t *testing.T, key string) v1.Image {
	t.Helper()
	img, err := random.Image(512, 1)
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	cfg = cfg.DeepCopy()
	cfg.Config.Labels = map[string]string{identity.LabelInputs: key}
	if img, err = mutate.ConfigFile(img, cfg); err != nil {
		t.Fatal(err)
	}
	return img
}

func digestOf(t *testing.T, img v1.Image) string {
	t.Helper()
	d, err := img.Digest()
	if err != nil {
		t.Fatal(err)
	}
	return d.String()
}

// TestDevPushMovesTheVersionTagOnly: the dev lane's <version> tag moves to a new build at every
// commit; each commit's immutable tag keeps its build; a second run writes nothing; an immutable
// tag holding other inputs is refused before any write.
func TestDevPushMovesTheVersionTagOnly(t *testing.T) {
	reg := registrytest.New(t)
	client := registry.New()
	local := registrytest.LocalImages{}
	push := func(img v1.Image, key, commit string) error {
		local["shiplane/core:1.0.0"] = img
		g := publish.NewImagePushed(publish.ImagePushed{
			Local:  []publish.LocalImage{{Ref: "shiplane/core:1.0.0"}},
			Tags:   []string{reg.Ref("dev/core:1.0.0"), reg.Ref("dev/core:1.0.0-g" + commit)},
			Moving: []string{reg.Ref("dev/core:1.0.0")},
			Key:    identity.Key(key),
		}, client, local, nil, nil)
		st, err := g.Assess(t.Context())
		if err != nil || st.Achieved {
			return errors.Join(err, errors.New("assessed achieved before pushing"))
		}
		if err := g.Achieve(t.Context()); err != nil {
			return err
		}
		if st, err = g.Assess(t.Context()); err != nil || !st.Achieved {
			return errors.Join(err, errors.New("not achieved after pushing"))
		}
		reg.Reset()
		if st, err = g.Assess(t.Context()); err != nil || !st.Achieved || reg.Writes() != 0 {
			return errors.Join(err, errors.New("a second run was not a no-op"))
		}
		return nil
	}
	first, second := labelled(t, "sha256:k1"), labelled(t, "sha256:k2")
	if err := push(first, "sha256:k1", "aaaaaaa"); err != nil {
		t.Fatal(err)
	}
	if err := push(second, "sha256:k2", "bbbbbbb"); err != nil {
		t.Fatalf("the second commit's push: %v", err)
	}
	for ref, want := range map[string]string{
		"dev/core:1.0.0":          digestOf(t, second),
		"dev/core:1.0.0-gaaaaaaa": digestOf(t, first),
		"dev/core:1.0.0-gbbbbbbb": digestOf(t, second),
	} {
		d, ok, err := client.Digest(t.Context(), reg.Ref(ref))
		if err != nil || !ok || d != want {
			t.Errorf("%s = %s (present %v, %v), want %s", ref, d, ok, err, want)
		}
	}

	// Another build of other inputs under an existing immutable tag: refused, nothing written.
	local["shiplane/core:1.0.0"] = labelled(t, "sha256:k3")
	g := publish.NewImagePushed(publish.ImagePushed{
		Local: []publish.LocalImage{{Ref: "shiplane/core:1.0.0"}}, Tags: []string{reg.Ref("dev/core:1.0.0-gbbbbbbb")}, Key: "sha256:k3",
	}, client, local, nil, nil)
	reg.Reset()
	_, err := g.Assess(t.Context())
	var ie *guard.PublishedWithDifferentInputs
	if !errors.As(err, &ie) || reg.Writes() != 0 {
		t.Fatalf("err = %v, writes %d", err, reg.Writes())
	}
}
