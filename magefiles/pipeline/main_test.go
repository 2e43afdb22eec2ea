package pipeline_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/shiplane/shiplane/magefiles/goal"
	"github.com/shiplane/shiplane/magefiles/pipeline"
)

// The test kinds, each registered with one line.
func TestMain(m *testing.M) {
	for _, err := range []error{
		pipeline.Register("require-file", newRequireFile),
		pipeline.Register("capture", newCapture),
		pipeline.Register("leak", newLeak),
		pipeline.RegisterKind("marker", pipeline.Kind{New: newMarker, Effectful: true, Optional: true}),
	} {
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(2)
		}
	}
	os.Exit(m.Run())
}

// requireFile is a custom kind: it passes when with.path exists under the repository root.
type requireFile struct {
	name, path string
	mu         sync.Mutex
	passed     bool
}

func newRequireFile(spec pipeline.Spec) (goal.Goal, error) {
	p := spec.With["path"]
	if p == "" {
		return nil, spec.Invalid("with", "require-file needs with.path", "add with: {path: <file>}")
	}
	return &requireFile{name: spec.Name, path: filepath.Join(spec.Root, p)}, nil
}

func (g *requireFile) String() string { return g.name }

func (g *requireFile) Assess(context.Context) (goal.State, error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	return goal.State{Achieved: g.passed}, nil
}

func (g *requireFile) Achieve(context.Context) error {
	if _, err := os.Stat(g.path); err != nil {
		return fmt.Errorf("checking the required file: %w", err)
	}
	g.mu.Lock()
	g.passed = true
	g.mu.Unlock()
	return nil
}

// capture records the resolved Spec of every entry, so tests can look at what references became.
var captured sync.Map // name -> pipeline.Spec

type captureGoal struct{ name string }

func newCapture(spec pipeline.Spec) (goal.Goal, error) {
	captured.Store(spec.Name, spec)
	return captureGoal{spec.Name}, nil
}

func (g captureGoal) String() string { return g.name }
func (g captureGoal) Assess(context.Context) (goal.State, error) {
	return goal.State{Skip: "captured"}, nil
}
func (g captureGoal) Achieve(context.Context) error { return nil }
func capturedSpec(t *testing.T, name string) pipeline.Spec {
	t.Helper()
	v, ok := captured.Load(name)
	if !ok {
		t.Fatalf("no spec captured for %q", name)
	}
	return v.(pipeline.Spec)
}

// leak is a badly behaved kind: its note and its error carry with.value verbatim.
type leakGoal struct{ name, value string }

func newLeak(spec pipeline.Spec) (goal.Goal, error) {
	return leakGoal{spec.Name, spec.With["value"]}, nil
}

func (g leakGoal) String() string { return g.name }
func (g leakGoal) Assess(context.Context) (goal.State, error) {
	return goal.State{Detail: "holding " + g.value}, nil
}
func (g leakGoal) Achieve(context.Context) error {
	return fmt.Errorf("could not use %s: %w", g.value, errLeak)
}

var errLeak = errors.New("leak kind always fails")

// marker is an effectful kind: its effect is the file with.path under the root; Achieve writes it
// and counts the writes.
type markerGoal struct {
	name, path string
	writes     *int
}

var markerWrites sync.Map // name -> *int

func newMarker(spec pipeline.Spec) (goal.Goal, error) {
	if spec.With["path"] == "" {
		return nil, spec.Invalid("with", "marker needs with.path", "add with: {path: <file>}")
	}
	n, _ := markerWrites.LoadOrStore(spec.Name, new(int))
	return markerGoal{spec.Name, filepath.Join(spec.Root, spec.With["path"]), n.(*int)}, nil
}

func (g markerGoal) String() string { return g.name }
func (g markerGoal) Assess(context.Context) (goal.State, error) {
	if _, err := os.Stat(g.path); err != nil {
		return goal.State{Detail: "no " + filepath.Base(g.path)}, nil
	}
	return goal.State{Achieved: true}, nil
}
func (g markerGoal) Achieve(context.Context) error {
	*g.writes++
	return os.WriteFile(g.path, []byte("x"), 0o644)
}
