// Package publishedtest is an in-memory published.State for planning tests.
package publishedtest

import (
	"context"
	"sync"

	"github.com/shiplane/shiplane/magefiles/published"
)

// Memory is an in-memory published.State. Unknown names things whose answer is unknown: asking
// about them returns an error wrapping published.ErrUnknown. Safe for concurrent use.
type Memory struct {
	mu       sync.Mutex
	Images   map[string]published.Image
	Charts   map[string]published.Chart // key: repo + "/" + name + ":" + version
	Tags     map[string]published.Tag
	Releases map[string]published.Release
	Unknown  map[string]error
}

var _ published.State = (*Memory)(nil)

// New returns an empty Memory.
func New() *Memory {
	return &Memory{
		Images: map[string]published.Image{}, Charts: map[string]published.Chart{},
		Tags: map[string]published.Tag{}, Releases: map[string]published.Release{}, Unknown: map[string]error{},
	}
}

// ChartKey is the key Charts uses.
func ChartKey(repo, name, version string) string { return repo + "/" + name + ":" + version }

func (m *Memory) unknown(key string) error {
	if err, ok := m.Unknown[key]; ok {
		return &published.UnknownError{What: key, Err: err}
	}
	return nil
}

// Image implements published.Images.
func (m *Memory) Image(_ context.Context, ref string) (published.Image, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if err := m.unknown(ref); err != nil {
		return published.Image{}, err
	}
	return m.Images[ref], nil
}

// Chart implements published.Charts.
func (m *Memory) Chart(_ context.Context, repo, name, version string) (published.Chart, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	k := ChartKey(repo, name, version)
	if err := m.unknown(k); err != nil {
		return published.Chart{}, err
	}
	return m.Charts[k], nil
}

// Tag implements published.Tags.
func (m *Memory) Tag(_ context.Context, name string) (published.Tag, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if err := m.unknown(name); err != nil {
		return published.Tag{}, err
	}
	return m.Tags[name], nil
}

// Release implements published.Releases.
func (m *Memory) Release(_ context.Context, tag string) (published.Release, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if err := m.unknown("release " + tag); err != nil {
		return published.Release{}, err
	}
	return m.Releases[tag], nil
}
