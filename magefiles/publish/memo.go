package publish

import (
	"crypto/sha256"
	"encoding/hex"
	"os"
	"path/filepath"
	"strings"
	"sync"
)

// DigestMemo remembers digests that are pure functions of their key: the registry digest of a local
// image by image ID (computing it means exporting and compressing the image), and the digest a
// reference was verified to hold for given inputs (a digest names immutable content, so once
// verified it stays true). It never stands in for asking the registry: callers still HEAD the tag
// and use the memo only to interpret the answer.
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
	m.mu.Lock()
	defer m.mu.Unlock()
	if d, ok := m.mem[id]; ok {
		return d, true
	}
	if m.dir == "" {
		return "", false
	}
	data, err := os.ReadFile(m.file(id))
	if err != nil {
		return "", false
	}
	d := strings.TrimSpace(string(data))
	if !strings.HasPrefix(d, "sha256:") {
		return "", false
	}
	m.mem[id] = d
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
