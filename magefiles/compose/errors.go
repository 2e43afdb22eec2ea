package compose

import (
	"fmt"
	"strings"
	"time"
)

// DefaultBuildHint is the command MissingImageError tells the user to run.
const DefaultBuildHint = "go run mage.go buildAllLocal"

// MissingImageError is returned by Up, before anything starts, when service images are not in the
// local daemon. Nothing is ever pulled: the images must be built locally.
type MissingImageError struct {
	// Images are the missing images, in service order.
	Images []Image
	// Hint is the command that builds them.
	Hint string
	// Daemon names the daemon that lacks them ("context colima (unix:///…)"), or "" when unknown.
	Daemon string
}

func (e *MissingImageError) Error() string {
	parts := make([]string, len(e.Images))
	for i, im := range e.Images {
		parts[i] = fmt.Sprintf("%s (service %s)", im.Ref, im.Service)
	}
	noun := "image"
	if len(parts) > 1 {
		noun = "images"
	}
	daemon := "the local Docker daemon"
	if e.Daemon != "" {
		daemon = "the Docker daemon of " + e.Daemon
	}
	return fmt.Sprintf("%s not in %s: %s; nothing is pulled, build them first (on the same daemon); run: %s",
		noun, daemon, strings.Join(parts, ", "), e.Hint)
}

// ContainerState describes one container that did not become healthy.
type ContainerState struct {
	Service   string
	Container string
	// State is the container state ("running", "exited", ...).
	State string
	// Health is the healthcheck status ("starting", "unhealthy", ...) or "" without a healthcheck.
	Health string
	// Detail is the last healthcheck output or the exit code, when known.
	Detail string
}

func (c ContainerState) String() string {
	s := c.State
	if c.Health != "" {
		s += ", " + c.Health
	}
	if c.Detail != "" {
		s += ": " + c.Detail
	}
	return s
}

// UnhealthyError is returned by Up when services did not all become running and healthy in time.
type UnhealthyError struct {
	Project string
	// Timeout is how long Up waited.
	Timeout time.Duration
	// Containers are the containers that are not running and healthy.
	Containers []ContainerState
	// Err is what the Compose SDK reported.
	Err error
}

func (e *UnhealthyError) Error() string {
	var failed, waiting []ContainerState
	for _, c := range e.Containers {
		if c.State == "created" {
			waiting = append(waiting, c)
		} else {
			failed = append(failed, c)
		}
	}
	if len(failed) == 0 {
		failed, waiting = waiting, nil
	}
	var b strings.Builder
	fmt.Fprintf(&b, "compose project %s did not become healthy (waiting up to %s)", e.Project, e.Timeout)
	for _, c := range failed {
		fmt.Fprintf(&b, "; service %s is not healthy (container %s: %s), see: docker logs %s", c.Service, c.Container, c, c.Container)
	}
	if len(waiting) > 0 {
		names := make([]string, len(waiting))
		for i, c := range waiting {
			names[i] = c.Service
		}
		fmt.Fprintf(&b, "; not started, waiting on them: %s", strings.Join(names, ", "))
	}
	if e.Err != nil {
		fmt.Fprintf(&b, " (%v)", e.Err)
	}
	return b.String()
}

func (e *UnhealthyError) Unwrap() error { return e.Err }
