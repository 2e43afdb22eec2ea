package lane

import (
	"context"
	"sync"
)

// treeCache remembers the object ids of paths at commits read in this run (a commit's trees never
// change), so that a goal asking again about a commit the facts already resolved starts no git
// process. A nil cache remembers nothing.
type treeCache struct {
	mu sync.Mutex
	m  map[string]map[string]string // commit → path → object id
}

// put remembers trees (path → object id) at commit, a full commit hash.
func (c *treeCache) put(commit string, trees map[string]string) {
	if c == nil || commit == "" {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil {
		c.m = map[string]map[string]string{}
	}
	have := c.m[commit]
	if have == nil {
		have = map[string]string{}
		c.m[commit] = have
	}
	for p, id := range trees {
		have[p] = id
	}
}

// get returns the object ids of paths at commit when every one is remembered.
func (c *treeCache) get(commit string, paths []string) (map[string]string, bool) {
	if c == nil {
		return nil, false
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	have, ok := c.m[commit]
	if !ok {
		return nil, false
	}
	out := make(map[string]string, len(paths))
	for _, p := range paths {
		id, ok := have[p]
		if !ok {
			return nil, false
		}
		out[p] = id
	}
	return out, true
}

// treesAt returns the object id of each path at commit (a full commit hash), from what this run
// already read when it can, else from git (and remembers it).
func (w *Workspace) treesAt(ctx context.Context, commit string, paths []string) (map[string]string, error) {
	if at, ok := w.trees.get(commit, paths); ok {
		return at, nil
	}
	at, err := w.Repo.TreesAt(ctx, commit, paths)
	if err != nil {
		return nil, err
	}
	w.trees.put(commit, at)
	return at, nil
}
