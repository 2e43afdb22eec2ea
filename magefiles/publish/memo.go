package publish

import (
	"os"
	"path/filepath"
	"strings"
	"sync"
)

// DigestMemo remembers the registry digest of local images by image ID. Computing it means
// exporting and compressing the image, so it is done once per image ID. It memoises a pure
// function of the image, never a belief about what a registry holds.
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

func (m *DigestMemo) file(id string) string {
	return filepath.Join(m.dir, strings.ReplaceAll(id, ":", "-"))
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
