package published

import (
	"context"
	"errors"
	"strings"
	"sync"
)

// ChartRef is a chart version's reference without the scheme: "host/path/name:version" for the
// repository "oci://host/path". Every place that names a chart version builds it here.
func ChartRef(repo, name, version string) string {
	return strings.TrimPrefix(repo, "oci://") + "/" + name + ":" + version
}

// Query lists what a run asks about, once.
type Query struct {
	// Images are image references ("reg/core:1.2.0").
	Images []string
	// Charts are chart versions.
	Charts []ChartQuery
	// Tags are git tag names.
	Tags []string
	// Releases are GitHub release tags.
	Releases []string
}

// ChartQuery is one chart version in a repository ("oci://host/path").
type ChartQuery struct{ Repo, Name, Version string }

// Snapshot is what was published when a run looked: plain data, read once, so that a plan made
// from it is pure and can be printed, compared and re-made without asking again. An answer that
// could not be had is kept as its error (wrapping ErrUnknown), never as "absent".
type Snapshot struct {
	Images   map[string]Image
	Charts   map[string]Chart // by ChartRef
	Tags     map[string]Tag
	Releases map[string]Release
	// Unknown holds the errors of the questions that could not be answered, by the same keys
	// prefixed with the kind ("image ", "chart ", "tag ", "release ").
	Unknown map[string]error
}

// NewSnapshot returns an empty snapshot.
func NewSnapshot() *Snapshot {
	return &Snapshot{Images: map[string]Image{}, Charts: map[string]Chart{}, Tags: map[string]Tag{},
		Releases: map[string]Release{}, Unknown: map[string]error{}}
}

// Image is what the snapshot holds for ref, or the error that stood for the answer.
func (s *Snapshot) Image(ref string) (Image, error) {
	if err := s.Unknown["image "+ref]; err != nil {
		return Image{}, err
	}
	return s.Images[ref], nil
}

// Chart is what the snapshot holds for the chart version.
func (s *Snapshot) Chart(repo, name, version string) (Chart, error) {
	ref := ChartRef(repo, name, version)
	if err := s.Unknown["chart "+ref]; err != nil {
		return Chart{}, err
	}
	return s.Charts[ref], nil
}

// Tag is what the snapshot holds for the git tag.
func (s *Snapshot) Tag(name string) (Tag, error) {
	if err := s.Unknown["tag "+name]; err != nil {
		return Tag{}, err
	}
	return s.Tags[name], nil
}

// Release is what the snapshot holds for the GitHub release of tag.
func (s *Snapshot) Release(tag string) (Release, error) {
	if err := s.Unknown["release "+tag]; err != nil {
		return Release{}, err
	}
	return s.Releases[tag], nil
}

// DefaultObserveLimit bounds the questions Observe asks at once: it is about the registry's
// latency, not the machine's cores.
const DefaultObserveLimit = 32

// Observe asks st every question of q at once (at most limit in flight; 0 means
// DefaultObserveLimit) and returns the answers as a snapshot. An answer that could not be had
// (an error wrapping ErrUnknown) is kept in the snapshot; any other error (a refused login, a
// cancelled context) is returned, the first one met.
func Observe(ctx context.Context, st State, q Query, limit int) (*Snapshot, error) {
	if limit <= 0 {
		limit = DefaultObserveLimit
	}
	s := NewSnapshot()
	var (
		mu    sync.Mutex
		first error
		wg    sync.WaitGroup
		sem   = make(chan struct{}, limit)
	)
	asked := map[string]bool{}
	ask := func(key string, f func() error) {
		if asked[key] {
			return // one question, asked once
		}
		asked[key] = true
		wg.Add(1)
		go func() {
			defer wg.Done()
			select {
			case sem <- struct{}{}:
			case <-ctx.Done():
				mu.Lock()
				if first == nil {
					first = ctx.Err()
				}
				mu.Unlock()
				return
			}
			defer func() { <-sem }()
			err := f()
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err == nil:
			case errors.Is(err, ErrUnknown):
				s.Unknown[key] = err
			case first == nil:
				first = err
			}
		}()
	}
	for _, ref := range q.Images {
		ask("image "+ref, keep(&mu, s.Images, ref, func() (Image, error) { return st.Image(ctx, ref) }))
	}
	for _, c := range q.Charts {
		ref := ChartRef(c.Repo, c.Name, c.Version)
		ask("chart "+ref, keep(&mu, s.Charts, ref, func() (Chart, error) { return st.Chart(ctx, c.Repo, c.Name, c.Version) }))
	}
	for _, name := range q.Tags {
		ask("tag "+name, keep(&mu, s.Tags, name, func() (Tag, error) { return st.Tag(ctx, name) }))
	}
	for _, tag := range q.Releases {
		ask("release "+tag, keep(&mu, s.Releases, tag, func() (Release, error) { return st.Release(ctx, tag) }))
	}
	wg.Wait()
	if first != nil {
		return nil, first
	}
	return s, nil
}

// keep asks one question and stores its answer under key (under mu) when there is one.
func keep[T any](mu *sync.Mutex, into map[string]T, key string, ask func() (T, error)) func() error {
	return func() error {
		v, err := ask()
		if err == nil {
			mu.Lock()
			into[key] = v
			mu.Unlock()
		}
		return err
	}
}
