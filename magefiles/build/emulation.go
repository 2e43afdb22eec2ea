package build

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strings"

	"github.com/moby/buildkit/frontend/dockerfile/parser"

	"github.com/shiplane/shiplane/magefiles/diag"
	"github.com/shiplane/shiplane/magefiles/docker"
)

// RunLines returns the line of every RUN instruction in a Dockerfile, in file order, as
// BuildKit's Dockerfile parser reads it (continuations, heredocs, comments and the escape
// directive included). A Dockerfile without RUN runs nothing while building: COPY, ENV, LABEL
// and the rest only write the image, whatever its platform.
func RunLines(dockerfile io.Reader) ([]int, error) {
	res, err := parser.Parse(dockerfile)
	if err != nil {
		return nil, err
	}
	var lines []int
	for _, n := range res.AST.Children {
		if strings.EqualFold(n.Value, "run") {
			lines = append(lines, n.StartLine)
		}
	}
	return lines, nil
}

// DefaultBinfmtDir is where a Linux kernel lists its binfmt_misc handlers.
const DefaultBinfmtDir = "/proc/sys/fs/binfmt_misc"

// Engine is what decides whether a Docker engine can run another platform's programs during a
// build (a RUN step). Make one from the daemon with EngineOf.
type Engine struct {
	// Platform is the engine's own platform (docker.Client.Platform).
	Platform Platform
	// Host is the engine's address, for messages.
	Host string
	// DockerDesktop says the engine is Docker Desktop's, which ships QEMU emulation for
	// linux/amd64 and linux/arm64 (and more) in its VM.
	DockerDesktop bool
	// BinfmtDir is the binfmt_misc directory of the kernel the engine runs on, when this machine
	// can read it (a Linux daemon on this machine's kernel); "" when it cannot be seen from here
	// (a remote engine, or a VM such as Colima's), and emulation is then unknown.
	BinfmtDir string
}

// EngineOf describes the daemon that info came from, at host. A unix socket on a Linux machine
// is taken to be a daemon on this kernel, whose binfmt_misc handlers DefaultBinfmtDir lists.
func EngineOf(info docker.Info, host string) Engine {
	e := Engine{Platform: info.Platform, Host: host, DockerDesktop: strings.Contains(info.OperatingSystem, "Docker Desktop")}
	if runtime.GOOS == "linux" && strings.HasPrefix(host, "unix://") && !e.DockerDesktop {
		e.BinfmtDir = DefaultBinfmtDir
	}
	return e
}

// Runs says whether the engine runs p's programs and how: natively, through Docker Desktop's
// emulation, or through a binfmt_misc handler registered with the F (fix binary) flag, which
// works inside containers. known is false when that cannot be told from here; why then says
// what is missing.
func (e Engine) Runs(p Platform) (ok, known bool, why string) {
	switch {
	case p.IsZero() || p.SameArch(e.Platform):
		return true, true, "native"
	case e.DockerDesktop:
		return true, true, "Docker Desktop's emulation"
	case e.BinfmtDir == "":
		return false, false, fmt.Sprintf("the engine at %s is not on this machine's kernel, so whether it emulates %s cannot be told", e.Host, p)
	}
	name := "qemu-" + p.QEMUName()
	file := filepath.Join(e.BinfmtDir, name)
	data, err := os.ReadFile(file)
	if errors.Is(err, os.ErrNotExist) {
		return false, true, fmt.Sprintf("no binfmt_misc handler %s is registered (%s does not exist)", name, file)
	}
	if err != nil {
		return false, false, fmt.Sprintf("reading %s: %v", file, err)
	}
	enabled, flags := false, ""
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "enabled" {
			enabled = true
		}
		if f, ok := strings.CutPrefix(line, "flags:"); ok {
			flags = strings.TrimSpace(f)
		}
	}
	switch {
	case !enabled:
		return false, true, fmt.Sprintf("the binfmt_misc handler %s is disabled", file)
	case !strings.Contains(flags, "F"):
		return false, true, fmt.Sprintf("the binfmt_misc handler %s lacks the F flag (flags %q), so its emulator is not found inside a container", file, flags)
	}
	return true, true, "binfmt_misc " + name
}

// ForeignRunError is a build that would run a program of a platform the engine cannot run: a
// RUN step in the Dockerfile of an image built for another architecture, with no emulation.
type ForeignRunError struct {
	Component string
	// Dockerfile is the Dockerfile's path as the user knows it; Line is its first RUN.
	Dockerfile string
	Line       int
	Platform   Platform
	Engine     Engine
	// Reason says why the engine cannot run it (no handler, unknown).
	Reason string
}

func (e *ForeignRunError) Error() string {
	scope := fmt.Sprintf("component %q", e.Component)
	problem := fmt.Sprintf("building for %s runs this RUN step on a %s engine without emulation: %s", e.Platform, e.Engine.Platform, e.Reason)
	fix := fmt.Sprintf("install emulation on the engine (`docker run --privileged --rm tonistiigi/binfmt --install %s`), "+
		"or build on a native %s engine through a Docker context, or drop %s from platforms: in the components file",
		e.Platform.Architecture, e.Platform, e.Platform)
	return diag.Format(e.Dockerfile, e.Line, scope, problem, nil, fix)
}

// CheckForeignRuns refuses, before anything is built, every spec whose Dockerfile has a RUN step
// for a platform the engine cannot be shown to run (Engine.Runs): one *ForeignRunError each,
// joined. name turns a Dockerfile's path into the one messages show (nil: as it is).
func CheckForeignRuns(specs []Spec, e Engine, name func(string) string) error {
	var errs []error
	runs := map[string][]int{}
	for _, s := range specs {
		if ok, _, _ := e.Runs(s.Platform); ok {
			continue
		}
		lines, seen := runs[s.Dockerfile]
		if !seen {
			data, err := os.ReadFile(s.Dockerfile)
			if err != nil {
				errs = append(errs, fmt.Errorf("component %s: reading %s: %w", s.Component, s.Dockerfile, err))
				continue
			}
			if lines, err = RunLines(bytes.NewReader(data)); err != nil {
				errs = append(errs, fmt.Errorf("component %s: parsing %s: %w", s.Component, s.Dockerfile, err))
				continue
			}
			runs[s.Dockerfile] = lines
		}
		if len(lines) == 0 {
			continue
		}
		_, _, why := e.Runs(s.Platform)
		df := s.Dockerfile
		if name != nil {
			df = name(df)
		}
		errs = append(errs, &ForeignRunError{Component: s.Component, Dockerfile: df, Line: lines[0], Platform: s.Platform, Engine: e, Reason: why})
	}
	return errors.Join(errs...)
}
