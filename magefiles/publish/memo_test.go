package publish_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/shiplane/shiplane/magefiles/publish"
	"github.com/shiplane/shiplane/magefiles/registry"
)

// TestDigestMemoCompressedLayers: the layer memo misses for a layer never seen, keeps what it is
// given in memory and in its folder (a later run, a new memo on the same folder, hits), forgets a
// wrong entry in both, and ignores a damaged file.
func TestDigestMemoCompressedLayers(t *testing.T) {
	dir := t.TempDir()
	key := registry.LayerMemoKey("sha256:" + strings.Repeat("a", 64))
	digest := "sha256:" + strings.Repeat("b", 64)

	m := publish.NewDigestMemo(dir)
	if d, s, ok := m.CompressedLayer(key); ok {
		t.Fatalf("miss expected, got %s %d", d, s)
	}
	m.PutCompressedLayer(key, digest, 4321)
	if d, s, ok := m.CompressedLayer(key); !ok || d != digest || s != 4321 {
		t.Errorf("in memory: %s %d %v, want %s 4321", d, s, ok, digest)
	}
	// The image-ID digests share the folder but not the key.
	if d, ok := m.Get(strings.TrimPrefix(key, "layer ")); ok {
		t.Errorf("another key answered %q", d)
	}

	next := publish.NewDigestMemo(dir) // the next run
	if d, s, ok := next.CompressedLayer(key); !ok || d != digest || s != 4321 {
		t.Errorf("from the folder: %s %d %v, want %s 4321", d, s, ok, digest)
	}

	// A wrong entry is forgotten, here and on disk.
	next.ForgetCompressedLayer(key)
	if _, _, ok := next.CompressedLayer(key); ok {
		t.Error("the forgotten entry still answers")
	}
	if _, _, ok := publish.NewDigestMemo(dir).CompressedLayer(key); ok {
		t.Error("the forgotten entry is still in the folder")
	}

	// A damaged file (no size) is a miss, not an answer.
	m.PutCompressedLayer(key, digest, 1)
	files, err := filepath.Glob(filepath.Join(dir, "*"))
	if err != nil || len(files) != 1 {
		t.Fatalf("memo files: %v %v", files, err)
	}
	if err := os.WriteFile(files[0], []byte(digest+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if d, s, ok := publish.NewDigestMemo(dir).CompressedLayer(key); ok {
		t.Errorf("a damaged entry answered %s %d", d, s)
	}

	// In memory only ("" folder): kept for the memo's life.
	mem := publish.NewDigestMemo("")
	mem.PutCompressedLayer(key, digest, 7)
	if _, s, ok := mem.CompressedLayer(key); !ok || s != 7 {
		t.Errorf("in-memory memo: %d %v", s, ok)
	}
}
