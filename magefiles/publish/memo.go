package publish

import (
	"crypto/sha256"
	"encoding/hex"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"

	"github.com/shiplane/shiplane/magefiles/registry"
)

var _ registry.LayerMemo = (*DigestMemo)(nil)

// DigestMemo remembers digests that are pure functions of their key: the registry digest of a local
// image by image ID (computing it means exporting and compressing the image), the digest a
// reference was verified to hold for given inputs (a digest names immutable content, so once
// verified it stays true), and the compressed digest and size of a layer by its diff ID and
// compression (registry.LayerMemo). It never stands in for asking the registry: callers still
// HEAD the tag and use the memo only to interpret the answer.
type DigestMemo struct {
	dir string
	mu  sync.Mutex
	mem map[string]string
}

// NewDigestMemo keeps the memo in dir (created when needed); "" keeps it in memory only.
func NewDigestMemo(dir string) *DigestMemo { return &DigestMemo{dir: dir, mem: map[string]string{}} }

// DefaultMemoDir is the user cache directory's shiplane/digests, or "" when there is none.
func DefaultMemoDir() string {
	d, err := os.UserCacheDir()
	if err != nil {
		return ""
	}
	return filepath.Join(d, "shiplane", "digests")
}

func (m *DigestMemo) file(key string) string {
	h := sha256.Sum256([]byte(key))
	return filepath.Join(m.dir, hex.EncodeToString(h[:]))
}

// Get returns the digest remembered for the image ID.
func (m *DigestMemo) Get(id string) (string, bool) {
	return m.get(id)
}

// get returns the value remembered for key: it starts with a digest ("sha256:…").
func (m *DigestMemo) get(key string) (string, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if d, ok := m.mem[key]; ok {
		return d, true
	}
	if m.dir == "" {
		return "", false
	}
	data, err := os.ReadFile(m.file(key))
	if err != nil {
		return "", false
	}
	d := strings.TrimSpace(string(data))
	if !strings.HasPrefix(d, "sha256:") {
		return "", false
	}
	m.mem[key] = d
	return d, true
}

// Put remembers the digest; failing to write the cache file only costs a recomputation later.
func (m *DigestMemo) Put(id, digest string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.mem[id] = digest
	if m.dir == "" {
		return
	}
	if err := os.MkdirAll(m.dir, 0o755); err != nil {
		return
	}
	tmp := m.file(id) + ".tmp"
	if os.WriteFile(tmp, []byte(digest+"\n"), 0o644) == nil {
		os.Rename(tmp, m.file(id))
	}
}

// CompressedLayer implements registry.LayerMemo: the compressed digest and size remembered for
// the layer key (registry.LayerMemoKey), kept as "<digest> <size>".
func (m *DigestMemo) CompressedLayer(key string) (string, int64, bool) {
	v, ok := m.get(key)
	if !ok {
		return "", 0, false
	}
	d, s, ok := strings.Cut(v, " ")
	size, err := strconv.ParseInt(s, 10, 64)
	if !ok || err != nil || size <= 0 {
		return "", 0, false
	}
	return d, size, true
}

// PutCompressedLayer implements registry.LayerMemo.
func (m *DigestMemo) PutCompressedLayer(key, digest string, size int64) {
	m.Put(key, digest+" "+strconv.FormatInt(size, 10))
}

// ForgetCompressedLayer implements registry.LayerMemo: a wrong entry is removed from memory and
// from the cache folder.
func (m *DigestMemo) ForgetCompressedLayer(key string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	delete(m.mem, key)
	if m.dir != "" {
		_ = os.Remove(m.file(key))
	}
}
