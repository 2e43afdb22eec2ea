// Package build holds the "image built" goal: a component's image exists in the local daemon,
// tagged :<version> and :latest (or, one image per platform, :<version>-<os>-<arch>), built for
// its target platform and stamped with the component's input key.
package build

import (
	"context"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/shiplane/shiplane/magefiles/docker"
	"github.com/shiplane/shiplane/magefiles/goal"
	"github.com/shiplane/shiplane/magefiles/identity"
	"github.com/shiplane/shiplane/magefiles/platform"
	"github.com/shiplane/shiplane/magefiles/progress"
)

// Daemon is what the goal needs from a container engine.
type Daemon interface {
	InspectImage(ctx context.Context, ref string) (docker.Image, bool, error)
	BuildImage(ctx context.Context, o docker.BuildOptions) (string, error)
	TagImage(ctx context.Context, source, target string) error
}

var _ Daemon = (*docker.Client)(nil)

// Spec is the image a component builds.
type Spec struct {
	// Component names the component, for progress and errors.
	Component string
	// Repository is the local image repository ("shiplane/core").
	Repository string
	// Version is the component version: the image is tagged :<Version> and :latest.
	Version string
	// Key is the component's input key, stamped as identity.LabelInputs and compared by Assess.
	Key identity.Key
	// Labels are stamped on the image; they should include identity.LabelInputs = Key.
	Labels map[string]string
	// Dockerfile is the Dockerfile's absolute path; its directory is the build context.
	Dockerfile string
	// Dir is where the compiler runs (the repository root Main is relative to).
	Dir string
	// Main is the Go main package compiled into bin/<Binary> in the context, or "".
	Main string
	// Binary is the compiled program's file name.
	Binary string
	// BaseImage, when set, is passed as build arg BASE_IMAGE ("shiplane/base:0.1.0").
	BaseImage string
	// Platform is the platform the image is built for: the binary is compiled for it, the
	// builder is asked for it (the Engine API's platform parameter), and an image of another
	// platform under the tag does not count as built. Default: the zero platform, the daemon's
	// own, unchecked (the binary is compiled with GOOS=linux for the go command's GOARCH).
	Platform Platform
	// PlatformTag tags the image :<Version>-<platform> only ("shiplane/core:1.2.0-linux-arm64")
	// and leaves :latest alone: one local image per platform of a multi-platform build.
	// Default: false, tagged :<Version> and :latest.
	PlatformTag bool
	// Clean says the inputs are committed: an image labelled as built from uncommitted edits
	// (revision "<commit>-dirty") does not count as built, even with the same inputs, so a
	// commit's build never carries a dirty label.
	Clean bool
}

// Platform is a target platform ("linux/arm64").
type Platform = platform.Platform

// Ref is the version tag, "<repository>:<version>", or with PlatformTag
// "<repository>:<version>-<os>-<arch>[-<variant>]".
func (s Spec) Ref() string { return PlatformRef(s.Repository, s.Version, s.Platform, s.PlatformTag) }

// PlatformRef is the local tag of repository's version built for p: "<repository>:<version>",
// or "<repository>:<version>-<os>-<arch>[-<variant>]" when perPlatform is set and p is not zero.
func PlatformRef(repository, version string, p Platform, perPlatform bool) string {
	if perPlatform && !p.IsZero() {
		return repository + ":" + version + "-" + p.Tag()
	}
	return repository + ":" + version
}

// Latest is the moving tag, "<repository>:latest".
func (s Spec) Latest() string { return s.Repository + ":latest" }

// ImageBuilt is the goal "image built <repository>:<version>". Build one with NewImageBuilt.
type ImageBuilt struct {
	spec     Spec
	daemon   Daemon
	compiler Compiler
	progress io.Writer
	tempDir  string
	revision string
	verbose  bool
}

var _ goal.Goal = (*ImageBuilt)(nil)

// Option configures an ImageBuilt.
type Option func(*ImageBuilt)

// WithCompiler sets the compiler for Spec.Main. Default: NewGoCompiler().
func WithCompiler(c Compiler) Option {
	return func(g *ImageBuilt) {
		if c != nil {
			g.compiler = c
		}
	}
}

// WithProgress sets where the goal's progress goes, every line prefixed "<component> | ": its own
// lines, the compiler's and builder's output as WithVerbose says. Writes are whole lines; wrap a
// writer shared by goals running at once in progress.Locked. Default: io.Discard.
func WithProgress(w io.Writer) Option {
	return func(g *ImageBuilt) {
		if w != nil {
			g.progress = w
		}
	}
}

// WithVerbose streams the compiler's and the classic builder's output (the go build command, Step
// N/M, ---> lines, intermediate containers) to the progress writer as it comes. Default: false:
// the output is kept per image, and only when the image fails to compile or build are its last
// FailureLines lines printed, once, before the error is returned.
func WithVerbose(v bool) Option { return func(g *ImageBuilt) { g.verbose = v } }

// WithRequiredRevision makes an image count as built only when its revision label is rev: an
// image built from the same inputs at another commit, or from uncommitted edits, is rebuilt. The
// release lane uses it so every image it publishes names the commit it is released from. Default:
// any revision.
func WithRequiredRevision(rev string) Option { return func(g *ImageBuilt) { g.revision = rev } }

// WithTempDir sets where build contexts are assembled (and removed afterwards). Default:
// os.TempDir().
func WithTempDir(dir string) Option { return func(g *ImageBuilt) { g.tempDir = dir } }

// NewImageBuilt returns the goal for spec against daemon.
func NewImageBuilt(spec Spec, daemon Daemon, opts ...Option) *ImageBuilt {
	g := &ImageBuilt{spec: spec, daemon: daemon, compiler: NewGoCompiler(), progress: io.Discard}
	for _, o := range opts {
		o(g)
	}
	return g
}

// Spec returns the image the goal builds.
func (g *ImageBuilt) Spec() Spec { return g.spec }

func (g *ImageBuilt) String() string { return "image built " + g.spec.Ref() }

// Assess reports the goal achieved when the version tag exists, is an image for the spec's
// platform, carries the component's input key, and (without PlatformTag) :latest points at the
// same image. The digest is the image ID.
func (g *ImageBuilt) Assess(ctx context.Context) (goal.State, error) {
	img, ok, err := g.current(ctx)
	if err != nil || !ok.built {
		return goal.State{Detail: ok.detail}, err
	}
	if !ok.latest && !g.spec.PlatformTag {
		return goal.State{Digest: img.ID, Detail: g.spec.Latest() + " points elsewhere"}, nil
	}
	return goal.State{Achieved: true, Digest: img.ID}, nil
}

type verdict struct {
	built  bool // the version tag holds an image of these inputs
	latest bool // and :latest is the same image
	detail string
}

func (g *ImageBuilt) current(ctx context.Context) (docker.Image, verdict, error) {
	ref := g.spec.Ref()
	img, found, err := g.daemon.InspectImage(ctx, ref)
	if err != nil {
		return docker.Image{}, verdict{}, err
	}
	if !found {
		return img, verdict{detail: "not built"}, nil
	}
	if want := g.spec.Platform; !want.IsZero() && !samePlatform(img.Platform, want) {
		return img, verdict{detail: fmt.Sprintf("%s is a %s image, want %s", ref, describe(img.Platform), want)}, nil
	}
	if got := img.Labels[identity.LabelInputs]; got != string(g.spec.Key) {
		return img, verdict{detail: fmt.Sprintf("%s was built from other inputs (%s %q, want %q)", ref, identity.LabelInputs, shortKey(got), shortKey(string(g.spec.Key)))}, nil
	}
	if got := img.Labels[identity.LabelRevision]; g.spec.Clean && strings.HasSuffix(got, "-dirty") {
		return img, verdict{detail: fmt.Sprintf("%s was built from uncommitted edits (revision %q); the inputs are committed now", ref, got)}, nil
	}
	if got := img.Labels[identity.LabelRevision]; g.revision != "" && got != g.revision {
		return img, verdict{detail: fmt.Sprintf("%s was built at revision %q, want %q", ref, got, g.revision)}, nil
	}
	if g.spec.PlatformTag {
		return img, verdict{built: true}, nil
	}
	latest, found, err := g.daemon.InspectImage(ctx, g.spec.Latest())
	if err != nil {
		return docker.Image{}, verdict{}, err
	}
	return img, verdict{built: true, latest: found && latest.ID == img.ID}, nil
}

// shortKey is an input key as the reports show hashes: the algorithm and 12 hex digits.
func shortKey(k string) string {
	algo, hex, ok := strings.Cut(k, ":")
	if !ok || len(hex) <= 12 {
		return k
	}
	return algo + ":" + hex[:12]
}

// samePlatform compares an image config's platform with a target, as registries do: an arm64
// image's "v8" variant and an amd64 image's "v1" are the baseline, written as none.
func samePlatform(img, want Platform) bool {
	if p, err := platform.Parse(img.String()); err == nil {
		img = p
	}
	return img == want
}

func describe(p Platform) string {
	if p.IsZero() {
		return "platform-less"
	}
	return p.String()
}

// Achieve builds the image, or only moves :latest when the version tag already holds an image of
// these inputs. The build context is a temporary copy of the Dockerfile's directory with the
// binary compiled for the spec's platform in bin/<binary>. The compiler's and builder's output is
// streamed or kept as WithVerbose says; a failure prints what was kept once.
func (g *ImageBuilt) Achieve(ctx context.Context) error {
	prefix := g.spec.Component + " | "
	say := progress.Prefix(g.progress, prefix)
	defer say.Flush()
	if g.verbose {
		return g.achieve(ctx, say, say)
	}
	tail := newLineTail(FailureLines)
	out := progress.Prefix(tail, prefix)
	err := g.achieve(ctx, say, out)
	if err != nil && ctx.Err() == nil {
		out.Flush()
		if kept := tail.Bytes(); len(kept) > 0 {
			say.Flush()
			g.progress.Write(kept) // one write: no other goal's line lands inside
		}
	}
	return err
}

// achieve does Achieve's work; say takes the goal's own lines, out the compiler's and builder's.
func (g *ImageBuilt) achieve(ctx context.Context, say, out io.Writer) error {
	img, v, err := g.current(ctx)
	if err != nil {
		return err
	}
	if v.built && g.spec.PlatformTag {
		return nil // built meanwhile; a per-platform tag has no :latest to move
	}
	if v.built {
		fmt.Fprintf(say, "%s already holds these inputs; tagging it %s\n", g.spec.Ref(), g.spec.Latest())
		return g.daemon.TagImage(ctx, img.ID, g.spec.Latest())
	}

	dir, err := os.MkdirTemp(g.tempDir, "shiplane-build-"+g.spec.Component+"-")
	if err != nil {
		return fmt.Errorf("creating a build context for %s: %w", g.spec.Component, err)
	}
	defer os.RemoveAll(dir)
	src := filepath.Dir(g.spec.Dockerfile)
	if err := copyTree(src, dir); err != nil {
		return fmt.Errorf("copying %s into a build context: %w", src, err)
	}
	if g.spec.Main != "" {
		bin := Binary{Dir: g.spec.Dir, Main: g.spec.Main, Output: filepath.Join(dir, "bin", g.spec.Binary), Version: g.spec.Version, Platform: g.spec.Platform}
		if err := g.compiler.Compile(ctx, bin, out); err != nil {
			return fmt.Errorf("component %s: %w", g.spec.Component, err)
		}
	}
	opts := docker.BuildOptions{
		ContextDir: dir,
		Dockerfile: filepath.Base(g.spec.Dockerfile),
		Tags:       g.tags(),
		Labels:     g.spec.Labels,
		Platform:   g.spec.Platform,
		// The classic builder's layer cache is not keyed by platform: a step cached by another
		// platform's build (FROM scratch, the same files) answers with that platform's image, and
		// the next step fails ("does not match the specified platform") or the result is that
		// platform's. A build for a named platform does every step.
		NoCache: !g.spec.Platform.IsZero(),
		Output:  out,
	}
	if g.spec.BaseImage != "" {
		opts.BuildArgs = map[string]string{"BASE_IMAGE": g.spec.BaseImage}
	}
	id, err := g.daemon.BuildImage(ctx, opts)
	if err != nil {
		return fmt.Errorf("component %s: building %s from %s: %w", g.spec.Component, g.spec.Ref(), g.spec.Dockerfile, err)
	}
	if want := g.spec.Platform; !want.IsZero() {
		img, found, err := g.daemon.InspectImage(ctx, id)
		if err != nil {
			return err
		}
		if found && !samePlatform(img.Platform, want) {
			return fmt.Errorf("component %s: building %s for %s gave a %s image; fix: build on an engine that honours the build API's platform parameter (Engine 20.10 or newer)",
				g.spec.Component, g.spec.Ref(), want, describe(img.Platform))
		}
	}
	return nil
}

// tags are the tags a build gives the image.
func (g *ImageBuilt) tags() []string {
	if g.spec.PlatformTag {
		return []string{g.spec.Ref()}
	}
	return []string{g.spec.Ref(), g.spec.Latest()}
}

// copyTree copies the regular files, directories and symlinks under src into dst.
func copyTree(src, dst string) error {
	return filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(src, p)
		if err != nil {
			return err
		}
		target := filepath.Join(dst, rel)
		info, err := d.Info()
		if err != nil {
			return err
		}
		switch {
		case d.IsDir():
			return os.MkdirAll(target, info.Mode().Perm()|0o700)
		case info.Mode()&fs.ModeSymlink != 0:
			link, err := os.Readlink(p)
			if err != nil {
				return err
			}
			return os.Symlink(link, target)
		case info.Mode().IsRegular():
			return copyFile(p, target, info.Mode().Perm())
		default:
			return nil
		}
	})
}

func copyFile(src, dst string, perm fs.FileMode) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, perm)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}
