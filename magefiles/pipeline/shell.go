package pipeline

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/shiplane/shiplane/magefiles/goal"
)

// KindShell is the built-in kind: run: is a shell script.
const KindShell = "shell"

// shellGoal runs a script in the repository root: bash (-eo pipefail) when it is on PATH, else
// sh -e. Its output, stdout and stderr, goes line by line to the pipeline's progress, masked.
type shellGoal struct {
	spec  Spec
	shell []string
	now   func() time.Time

	mu     sync.Mutex
	passed bool
	took   time.Duration
}

var _ goal.Goal = (*shellGoal)(nil)

func newShellGoal(spec Spec) (goal.Goal, error) {
	if strings.TrimSpace(spec.Run) == "" || spec.runBlank {
		if _, ok := spec.keyLines["run"]; ok {
			return nil, spec.Invalid("run", "run: is empty once its references are resolved", "give the shell kind a command to run")
		}
		return nil, spec.Invalid("", "missing run", "add run: <shell command> (the shell kind runs it with bash, or sh, in the repository root)")
	}
	for k := range spec.With {
		return nil, spec.Invalid("with", fmt.Sprintf("the shell kind takes no with: parameters (found %q)", k), "remove with:, or pass values to the script through env:")
	}
	return &shellGoal{spec: spec, shell: shellCommand(), now: time.Now}, nil
}

func (g *shellGoal) String() string { return g.spec.Name }

// Assess reports the goal achieved only once its script has passed in this process: a release
// always verifies.
func (g *shellGoal) Assess(context.Context) (goal.State, error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.passed {
		return goal.State{Achieved: true, Detail: "passed in " + g.took.Round(10*time.Millisecond).String()}, nil
	}
	return goal.State{}, nil
}

// Achieve runs the script; a non-zero exit is a *CommandError.
func (g *shellGoal) Achieve(ctx context.Context) error {
	start := g.now()
	out := g.spec.Output()
	cmd := command(ctx, append(append([]string(nil), g.shell...), g.spec.Run), g.spec.Root, g.spec.Environ())
	cmd.Stdout, cmd.Stderr = out, out
	err := cmd.Run()
	if ferr := out.Flush(); err == nil && ferr != nil {
		return fmt.Errorf("writing the output of %q: %w", g.spec.Name, ferr)
	}
	if err != nil {
		return commandError(ctx, "", err, "")
	}
	g.mu.Lock()
	g.passed, g.took = true, g.now().Sub(start)
	g.mu.Unlock()
	return nil
}
