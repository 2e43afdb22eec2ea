package registry_test

import (
	"sync/atomic"
	"testing"

	"github.com/shiplane/shiplane/magefiles/identity"
	"github.com/shiplane/shiplane/magefiles/progress"
	"github.com/shiplane/shiplane/magefiles/registry/registrytest"
)

type countBytes struct{ sent, expected atomic.Int64 }

func (c *countBytes) AddBytes(n int64)    { c.sent.Add(n) }
func (c *countBytes) ExpectBytes(n int64) { c.expected.Add(n) }

// A push reports the bytes it sends to the reporter its context carries (the goal engine's),
// at least the layers' compressed size, against the in-process registry.
func TestPushReportsBytesSentThroughItsContext(t *testing.T) {
	reg := registrytest.New(t)
	var got countBytes
	ctx := progress.WithBytes(t.Context(), &got)
	img := labelled(t, nil, 64<<10, 2, map[string]string{identity.LabelInputs: "key-b", identity.LabelVersion: "1.0.0"})
	if _, err := newClient().PushLocal(ctx, registrytest.LocalImages{"shiplane/core:1.0.0": img}, "shiplane/core:1.0.0",
		[]string{reg.Ref("team/core:1.0.0")}); err != nil {
		t.Fatal(err)
	}
	layers, err := img.Layers()
	if err != nil {
		t.Fatal(err)
	}
	var size int64
	for _, l := range layers {
		n, err := l.Size()
		if err != nil {
			t.Fatal(err)
		}
		size += n
	}
	if got.sent.Load() < size {
		t.Fatalf("reported %d bytes sent, want at least the layers' %d", got.sent.Load(), size)
	}

	// Without a reporter in the context, a push reports nothing and works the same.
	if _, err := newClient().PushLocal(t.Context(),
		registrytest.LocalImages{"shiplane/core:1.0.0": img}, "shiplane/core:1.0.0", []string{reg.Ref("team/other:1.0.0")}); err != nil {
		t.Fatal(err)
	}
}
