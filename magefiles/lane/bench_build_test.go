package lane_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/shiplane/shiplane/magefiles/build"
	"github.com/shiplane/shiplane/magefiles/docker"
	"github.com/shiplane/shiplane/magefiles/goal"
	"github.com/shiplane/shiplane/magefiles/lane"
	"github.com/shiplane/shiplane/magefiles/manifest"
	"github.com/shiplane/shiplane/magefiles/testenv"
)

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// BenchmarkBuildAllLocalUpToDate compares, in the same run, an up-to-date BuildAllLocal of the
// whole platform (open the workspace, hash the inputs with git, connect, assess every image) with
// what a "just run docker build" lane costs at best: one classic-builder build per image through
// the Engine API over the same contexts, every step answered from the layer cache (checked: the
// binaries are compiled beforehand, so the loop pays for neither compiling nor any real step).
// Metrics: rerun-ms and docker-loop-ms per iteration, speedup-x = docker-loop / rerun; ns/op is
// their sum.
func BenchmarkBuildAllLocalUpToDate(b *testing.B) {
	ws := testenv.PlatformImages(b)
	d := testenv.RequireDocker(b)
	ctx := b.Context()
	var jobs []docker.BuildOptions
	for _, c := range imageComponents(ws) {
		dir := b.TempDir()
		src := filepath.Dir(ws.Path(c.Image.Dockerfile))
		if err := os.CopyFS(dir, os.DirFS(src)); err != nil {
			b.Fatal(err)
		}
		if c.Image.Main != "" {
			bin := build.Binary{Dir: ws.Config.Root, Main: "./" + filepath.ToSlash(filepath.Clean(c.Image.Main)),
				Output: filepath.Join(dir, "bin", c.Image.Binary()), Version: c.Version}
			if err := build.NewGoCompiler().Compile(ctx, bin, io.Discard); err != nil {
				b.Fatal(err)
			}
		}
		o := docker.BuildOptions{ContextDir: dir, Dockerfile: filepath.Base(c.Image.Dockerfile), Labels: ws.Labels(c)}
		if from := ws.Manifest.Component(c.Image.From); from != nil {
			o.BuildArgs = map[string]string{"BASE_IMAGE": ws.LocalImage(from) + ":" + from.Version}
		}
		jobs = append(jobs, o)
	}
	cfg := lane.Config{Root: ws.Config.Root, Progress: io.Discard, Getenv: buildEnv(map[string]string{"SHIPLANE_REPORT": ""})}

	// Warm up: the first loop may have to fill the layer cache (images built by another version
	// of the goals have other intermediate layers); from then on every step must be a cache hit.
	for _, o := range jobs {
		if _, err := d.BuildImage(ctx, o); err != nil {
			b.Fatal(err)
		}
	}

	var rerun, loop time.Duration
	b.ResetTimer()
	for b.Loop() {
		t := time.Now()
		if err := lane.BuildAllLocal(ctx, cfg); err != nil {
			b.Fatal(err)
		}
		rerun += time.Since(t)
		t = time.Now()
		var out bytes.Buffer
		for _, o := range jobs {
			o.Output = &out
			if _, err := d.BuildImage(ctx, o); err != nil {
				b.Fatal(err)
			}
		}
		loop += time.Since(t)
		if err := allCached(out.String()); err != nil {
			b.Fatalf("the docker build loop did real work, so it is not the cached baseline: %v\n%s", err, out.String())
		}
	}
	n := float64(b.N)
	b.ReportMetric(ms(rerun)/n, "rerun-ms")
	b.ReportMetric(ms(loop)/n, "docker-loop-ms")
	b.ReportMetric(float64(loop)/float64(rerun), "speedup-x")
}

// BenchmarkBuildAllLocalParallel builds the whole platform from nothing (its images, and with them
// the layer cache, removed before every build) one image at a time, then with as many workers as
// images, then with the engine's default workers, and reports parallel wall time against the
// critical path: the longest chain of goal durations along image.from (base, then the slowest
// image FROM it) as measured in the one-at-a-time run. For scale it also times the same builds
// done directly through the Engine API with no goals and no compiling (base, then the rest at
// once): what the daemon itself allows. Metrics: seq-ms, par-ms, par-default-ms, critical-path-ms,
// raw-par-ms, par/critical-x, par/raw-x, seq/par-x.
//
// Sub-benchmark compile=cached compiles each binary once and copies it into later contexts, so
// the figures measure the goals and the daemon rather than the Go linker, which is CPU-bound and
// cannot speed up with more workers on a 2-core machine. compile=go runs go build every time
// (with a warm Go build cache that is, in practice, the link).
func BenchmarkBuildAllLocalParallel(b *testing.B) {
	for _, mode := range []string{"cached", "go"} {
		b.Run("compile="+mode, func(b *testing.B) {
			d := testenv.RequireDocker(b)
			project := "shiplane-bench-par-" + mode
			root := testenv.CopyRepo(b, project)
			ctx := b.Context()
			var compiler build.Compiler = build.NewGoCompiler()
			cc := &cachingCompiler{inner: compiler, dir: b.TempDir()}
			if mode == "cached" {
				compiler = cc
			}
			ws, err := lane.Open(ctx, lane.Config{Root: root, Progress: io.Discard, Getenv: buildEnv(map[string]string{"SHIPLANE_REPORT": ""})})
			if err != nil {
				b.Fatal(err)
			}
			comps := imageComponents(ws)
			width := len(comps)
			clean := func() {
				b.Helper()
				if err := testenv.RemoveImages(ctx, d, project); err != nil {
					b.Fatal(err)
				}
			}
			run := func(workers int) *goal.Report {
				b.Helper()
				clean()
				ws.Config.Workers = workers
				r := ws.RunLocalBuild(ctx, d, build.WithCompiler(compiler))
				if err := r.Err(); err != nil {
					b.Fatal(err)
				}
				if n := r.Count(goal.NewlyAchieved); n != width {
					b.Fatalf("%d images built, want %d", n, width)
				}
				return r
			}

			// The direct baseline: the same contexts, binaries compiled beforehand.
			raw := map[string]docker.BuildOptions{}
			for _, c := range comps {
				dir := b.TempDir()
				if err := os.CopyFS(dir, os.DirFS(filepath.Dir(ws.Path(c.Image.Dockerfile)))); err != nil {
					b.Fatal(err)
				}
				if c.Image.Main != "" {
					bin := build.Binary{Dir: root, Main: "./" + filepath.ToSlash(filepath.Clean(c.Image.Main)),
						Output: filepath.Join(dir, "bin", c.Image.Binary()), Version: c.Version}
					if err := cc.Compile(ctx, bin, io.Discard); err != nil {
						b.Fatal(err)
					}
				}
				o := docker.BuildOptions{ContextDir: dir, Dockerfile: filepath.Base(c.Image.Dockerfile), Labels: ws.Labels(c),
					Tags: []string{project + "/raw-" + c.Image.Name + ":" + c.Version}}
				if c.Image.From != "" {
					o.BuildArgs = map[string]string{"BASE_IMAGE": project + "/raw-" + ws.Manifest.Component(c.Image.From).Image.Name + ":" + ws.Manifest.Component(c.Image.From).Version}
				}
				raw[c.Name] = o
			}
			rawRun := func() time.Duration {
				b.Helper()
				clean()
				start := time.Now()
				var wg sync.WaitGroup
				errs := make(chan error, width)
				var level func(from string)
				level = func(from string) {
					for _, c := range comps {
						if c.Image.From != from {
							continue
						}
						wg.Add(1)
						go func() {
							defer wg.Done()
							if _, err := d.BuildImage(ctx, raw[c.Name]); err != nil {
								errs <- err
								return
							}
							level(c.Name)
						}()
					}
				}
				level("")
				wg.Wait()
				close(errs)
				for err := range errs {
					b.Fatal(err)
				}
				return time.Since(start)
			}

			run(width) // warm up: caches, page cache, the compiled binaries

			var seq, par, parDefault, crit, direct time.Duration
			b.ResetTimer()
			for b.Loop() {
				s := run(1)
				seq += s.Duration
				crit += criticalPath(ws.Manifest, s)
				par += run(width).Duration
				parDefault += run(0).Duration
				direct += rawRun()
			}
			clean()
			n := float64(b.N)
			b.ReportMetric(ms(seq)/n, "seq-ms")
			b.ReportMetric(ms(par)/n, "par-ms")
			b.ReportMetric(ms(parDefault)/n, "par-default-ms")
			b.ReportMetric(ms(crit)/n, "critical-path-ms")
			b.ReportMetric(ms(direct)/n, "raw-par-ms")
			b.ReportMetric(float64(par)/float64(crit), "par/critical-x")
			b.ReportMetric(float64(par)/float64(direct), "par/raw-x")
			b.ReportMetric(float64(seq)/float64(par), "seq/par-x")
		})
	}
}

// allCached checks classic-builder output: every step but ARG and FROM answered "Using cache".
func allCached(out string) error {
	lines := strings.Split(out, "\n")
	for i, l := range lines {
		if !strings.HasPrefix(l, "Step ") {
			continue
		}
		_, instr, _ := strings.Cut(l, " : ")
		if strings.HasPrefix(instr, "ARG ") || strings.HasPrefix(instr, "FROM ") {
			continue
		}
		if i+1 >= len(lines) || strings.TrimSpace(lines[i+1]) != "---> Using cache" {
			return fmt.Errorf("%q was not answered from the cache", l)
		}
	}
	return nil
}

// criticalPath is the longest chain of goal durations along image.from.
func criticalPath(m *manifest.Manifest, r *goal.Report) time.Duration {
	dur := map[string]time.Duration{}
	for _, res := range r.Results {
		dur[res.Component] = res.Duration
	}
	var finish func(name string) time.Duration
	finish = func(name string) time.Duration {
		c := m.Component(name)
		if c == nil || c.Image == nil {
			return 0
		}
		return finish(c.Image.From) + dur[name]
	}
	var longest time.Duration
	for name := range dur {
		longest = max(longest, finish(name))
	}
	return longest
}

// cachingCompiler compiles each (main, version) once and copies the binary afterwards.
type cachingCompiler struct {
	inner build.Compiler
	dir   string
	mu    sync.Mutex
	done  map[string]string
}

func (c *cachingCompiler) Compile(ctx context.Context, bin build.Binary, progress io.Writer) error {
	key := bin.Dir + "|" + bin.Main + "|" + bin.Version
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.done == nil {
		c.done = map[string]string{}
	}
	cached, ok := c.done[key]
	if !ok {
		cached = filepath.Join(c.dir, fmt.Sprint(len(c.done)), filepath.Base(bin.Output))
		if err := c.inner.Compile(ctx, build.Binary{Dir: bin.Dir, Main: bin.Main, Output: cached, Version: bin.Version}, progress); err != nil {
			return err
		}
		c.done[key] = cached
	}
	data, err := os.ReadFile(cached)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(bin.Output), 0o755); err != nil {
		return err
	}
	return os.WriteFile(bin.Output, data, 0o755)
}
