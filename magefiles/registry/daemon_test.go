package registry_test

import (
	"archive/tar"
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/moby/moby/client"

	"github.com/shiplane/shiplane/magefiles/identity"
	"github.com/shiplane/shiplane/magefiles/registry"
	"github.com/shiplane/shiplane/magefiles/registry/registrytest"
)

// dockerClient returns a client for the local daemon; without one the test is skipped, or fails
// when CI=true.
func dockerClient(t testing.TB) *client.Client {
	t.Helper()
	c, err := client.New(client.FromEnv)
	if err == nil {
		ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
		defer cancel()
		_, err = c.Ping(ctx, client.PingOptions{NegotiateAPIVersion: true})
	}
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("no Docker daemon (CI=true, so this fails): %v", err)
		}
		t.Skipf("no Docker daemon: %v", err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return c
}

// build builds a one-file image from dockerfile with the classic builder and removes it when the
// test ends.
func build(t testing.TB, c *client.Client, tag, dockerfile, file, content string) {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, f := range []struct{ name, body string }{{"Dockerfile", dockerfile}, {file, content}} {
		if err := tw.WriteHeader(&tar.Header{Name: f.name, Mode: 0o644, Size: int64(len(f.body)), ModTime: time.Unix(0, 0)}); err != nil {
			t.Fatal(err)
		}
		if _, err := tw.Write([]byte(f.body)); err != nil {
			t.Fatal(err)
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	res, err := c.ImageBuild(t.Context(), &buf, client.ImageBuildOptions{Tags: []string{tag}, Remove: true, ForceRemove: true})
	if err != nil {
		t.Fatalf("building %s: %v", tag, err)
	}
	defer res.Body.Close()
	dec := json.NewDecoder(res.Body)
	for {
		var m struct {
			Error string `json:"error"`
		}
		if err := dec.Decode(&m); errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			t.Fatalf("building %s: reading the output: %v", tag, err)
		}
		if m.Error != "" {
			t.Fatalf("building %s: %s", tag, m.Error)
		}
	}
	t.Cleanup(func() {
		_, _ = c.ImageRemove(context.WithoutCancel(t.Context()), tag, client.ImageRemoveOptions{Force: true, PruneChildren: true})
	})
}

func TestPushFromTheDaemon(t *testing.T) {
	ctx := t.Context()
	dc := dockerClient(t)
	id := fmt.Sprint(time.Now().UnixNano())
	base := "shiplane-registrytest/base:" + id
	core := "shiplane-registrytest/core:" + id
	noise := make([]byte, 256<<10) // incompressible: the base layer is the big one
	if _, err := rand.Read(noise); err != nil {
		t.Fatal(err)
	}
	build(t, dc, base, "FROM scratch\nCOPY ca.txt /etc/ca.txt\nLABEL "+identity.LabelInputs+"=base-"+id+"\n",
		"ca.txt", hex.EncodeToString(noise))
	build(t, dc, core, "FROM "+base+"\nCOPY core.txt /core.txt\nLABEL "+identity.LabelInputs+"=core-"+id+"\n",
		"core.txt", "core "+id+"\n")

	reg := registrytest.New(t)
	var progress bytes.Buffer
	c := newClient(registry.WithProgress(&progress))
	d := registry.NewDaemon(dc)

	pb, err := c.PushLocal(ctx, d, base, []string{reg.Ref("base:1.0.0")})
	if err != nil {
		t.Fatal(err)
	}
	pc, err := c.PushLocal(ctx, d, core, []string{reg.Ref("core:1.0.0"), reg.Ref("connector:1.0.0")})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("progress:\n%s", progress.String())

	for ref, want := range map[string]struct{ digest, inputs string }{
		reg.Ref("base:1.0.0"):      {pb.Digest, "base-" + id},
		reg.Ref("core:1.0.0"):      {pc.Digest, "core-" + id},
		reg.Ref("connector:1.0.0"): {pc.Digest, "core-" + id},
	} {
		got, err := newClient().Image(ctx, ref)
		if err != nil {
			t.Fatal(err)
		}
		if !got.Present || got.Digest != want.digest || got.Inputs != want.inputs {
			t.Errorf("%s: %+v, want digest %s inputs %s", ref, got, want.digest, want.inputs)
		}
	}

	// The base layer (the big one) went over the wire once; core and connector mounted it.
	img, err := d.LocalImage(ctx, base)
	if err != nil {
		t.Fatal(err)
	}
	ls, err := img.Layers()
	if err != nil {
		t.Fatal(err)
	}
	bl, err := ls[0].Digest()
	if err != nil {
		t.Fatal(err)
	}
	if up, mounts := blobPuts(reg, bl.String()); up != 1 || mounts != 2 {
		t.Errorf("base layer %s: %d uploads, %d mounts; want 1 and 2\n%s", bl, up, mounts, reg.Dump())
	}

	if got := reg.BytesIn("/blobs/uploads/"); got > 2*int64(len(noise))+64<<10 {
		t.Errorf("%d blob bytes uploaded; the base layer should have gone once", got)
	}

	// Again, from a fresh client: nothing written.
	reg.Reset()
	again, err := newClient().PushLocal(ctx, d, core, []string{reg.Ref("core:1.0.0"), reg.Ref("connector:1.0.0")})
	if err != nil {
		t.Fatal(err)
	}
	if len(again.Written) != 0 || reg.Writes() != 0 {
		t.Errorf("re-push of unchanged daemon image: %+v\n%s", again, reg.Dump())
	}

	_, err = c.PushLocal(ctx, d, "shiplane-registrytest/missing:"+id, []string{reg.Ref("missing:1.0.0")})
	if err == nil || !strings.Contains(err.Error(), "shiplane-registrytest/missing:"+id) {
		t.Errorf("pushing a missing local image: %v", err)
	}
	t.Logf("missing local image: %v", err)
}
