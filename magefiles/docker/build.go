package docker

import (
	"archive/tar"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"time"

	"github.com/moby/moby/api/types/build"
	"github.com/moby/moby/api/types/jsonstream"
	"github.com/moby/moby/client"
	"github.com/moby/patternmatcher"
	"github.com/moby/patternmatcher/ignorefile"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/shiplane/shiplane/magefiles/platform"
)

// BuildOptions describe one image build.
type BuildOptions struct {
	// ContextDir is the build context directory. Its .dockerignore is honoured as the docker CLI
	// honours it. Required.
	ContextDir string
	// Dockerfile is the Dockerfile's path inside the context. Default: "Dockerfile".
	Dockerfile string
	// Tags name the result ("shiplane/core:1.2.0"). Default: none (the image is known by its ID).
	Tags []string
	// BuildArgs are passed as --build-arg. Default: none.
	BuildArgs map[string]string
	// Labels are added to the image config, as one LABEL instruction appended to the Dockerfile in
	// the context stream (the source file is not touched). Default: none.
	Labels map[string]string
	// Platform is the platform to build for ("linux/arm64"), the Engine API's platform
	// parameter: the classic builder stamps it in the image config and resolves FROM images for
	// it. A RUN step for another architecture than the daemon's needs emulation. Default: the
	// zero platform, the daemon's own.
	Platform platform.Platform
	// NoCache disables the builder's layer cache. Default: false.
	NoCache bool
	// Output receives the build's progress as plain text lines. Default: discarded.
	Output io.Writer
}

// BuildError is a build the daemon reported as failed, naming the Dockerfile step that failed.
type BuildError struct {
	// Step is the builder's line for the failing step ("Step 2/4 : COPY bin/core /usr/local/bin/core"),
	// or "" when the build failed before any step.
	Step string
	// Message is the daemon's error message.
	Message string
}

func (e *BuildError) Error() string {
	if e.Step == "" {
		return "docker build failed: " + e.Message
	}
	return fmt.Sprintf("docker build failed at %q: %s", e.Step, e.Message)
}

// BuildImage builds the context with the classic builder (no BuildKit), removing intermediate
// containers even when a step fails, streams the build output as plain lines to o.Output, and
// returns the new image's ID.
func (c *Client) BuildImage(ctx context.Context, o BuildOptions) (string, error) {
	if o.ContextDir == "" {
		return "", errors.New("building an image: no context directory given")
	}
	if o.Dockerfile == "" {
		o.Dockerfile = "Dockerfile"
	}
	out := o.Output
	if out == nil {
		out = io.Discard
	}
	args := make(map[string]*string, len(o.BuildArgs))
	for k, v := range o.BuildArgs {
		args[k] = &v
	}
	// The classic builder turns every API label into a step of its own, each a container created
	// and committed (about half a second apiece here). One LABEL instruction appended to the
	// Dockerfile in the context stream is one step with the same result. Values a single
	// Dockerfile line cannot hold go through the API instead.
	apiLabels, fileLabels := o.Labels, map[string]string(nil)
	if oneLine(o.Labels) {
		apiLabels, fileLabels = nil, o.Labels
	}

	// Stream the context as it is written: no temporary tarball.
	pr, pw := io.Pipe()
	go func() { pw.CloseWithError(writeContext(pw, o.ContextDir, o.Dockerfile, fileLabels)) }()
	defer pr.Close()

	res, err := c.api.ImageBuild(ctx, pr, client.ImageBuildOptions{
		Tags:        o.Tags,
		Dockerfile:  filepath.ToSlash(o.Dockerfile),
		BuildArgs:   args,
		Labels:      apiLabels,
		NoCache:     o.NoCache,
		Remove:      true,
		ForceRemove: true,
		Version:     build.BuilderV1,
		Platforms:   ociPlatforms(o.Platform),
	})
	if err != nil {
		return "", fmt.Errorf("building %s: %w", o.ContextDir, err)
	}
	defer res.Body.Close()
	id, err := readBuildStream(res.Body, out)
	if err != nil {
		return "", fmt.Errorf("building %s: %w", o.ContextDir, err)
	}
	if id == "" && len(o.Tags) > 0 {
		img, found, err := c.InspectImage(ctx, o.Tags[0])
		if err != nil || !found {
			return "", fmt.Errorf("building %s: the daemon reported no image ID and %s cannot be inspected (%v)", o.ContextDir, o.Tags[0], err)
		}
		id = img.ID
	}
	if id == "" {
		return "", fmt.Errorf("building %s: the daemon reported no image ID", o.ContextDir)
	}
	return id, nil
}

// ociPlatforms is p as the client's platform list: none for the zero platform.
func ociPlatforms(p platform.Platform) []ocispec.Platform {
	if p.IsZero() {
		return nil
	}
	return []ocispec.Platform{{OS: p.OS, Architecture: p.Architecture, Variant: p.Variant}}
}

// readBuildStream turns the daemon's JSON message stream into text lines on out and returns the
// image ID from the stream's aux message.
func readBuildStream(r io.Reader, out io.Writer) (string, error) {
	dec := json.NewDecoder(r)
	var id, step string
	for {
		var m jsonstream.Message
		if err := dec.Decode(&m); err != nil {
			if errors.Is(err, io.EOF) {
				return id, nil
			}
			return "", fmt.Errorf("reading the build output: %w", err)
		}
		if m.Error != nil {
			fmt.Fprintf(out, "ERROR: %s\n", m.Error.Message)
			return "", &BuildError{Step: step, Message: strings.TrimSpace(m.Error.Message)}
		}
		if m.Stream != "" {
			io.WriteString(out, m.Stream)
			for _, line := range strings.Split(m.Stream, "\n") {
				if strings.HasPrefix(line, "Step ") {
					step = strings.TrimSpace(line)
				}
			}
		}
		if m.Status != "" {
			if m.ID != "" {
				fmt.Fprintf(out, "%s: %s\n", m.ID, m.Status)
			} else {
				fmt.Fprintln(out, m.Status)
			}
		}
		if m.Aux != nil {
			var aux struct{ ID string }
			if json.Unmarshal(*m.Aux, &aux) == nil && aux.ID != "" {
				id = aux.ID
			}
		}
	}
}

// contextTime is every file's modification time in a build context, so that a context's tar stream
// depends only on names, modes and contents.
var contextTime = time.Unix(0, 0).UTC()

// WriteContext writes dir as a build-context tar stream to w, in name order, leaving out what its
// .dockerignore excludes (the Dockerfile and .dockerignore are always sent, as the CLI does).
// Owners are zeroed and times pinned, so equal trees give equal streams.
func WriteContext(w io.Writer, dir, dockerfile string) error {
	return writeContext(w, dir, dockerfile, nil)
}

// writeContext is WriteContext with labels appended to the Dockerfile as one LABEL instruction.
func writeContext(w io.Writer, dir, dockerfile string, labels map[string]string) error {
	dfName := filepath.ToSlash(filepath.Clean(dockerfile))
	excludes, err := readDockerignore(dir)
	if err != nil {
		return err
	}
	pm, err := patternmatcher.New(excludes)
	if err != nil {
		return fmt.Errorf("%s: %w", filepath.Join(dir, ".dockerignore"), err)
	}
	keep := map[string]bool{dfName: true, ".dockerignore": true}
	tw := tar.NewWriter(w)
	err = filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(dir, p)
		if err != nil || rel == "." {
			return err
		}
		name := filepath.ToSlash(rel)
		if len(excludes) > 0 && !keep[name] {
			skip, err := pm.MatchesOrParentMatches(name)
			if err != nil {
				return err
			}
			if skip {
				if d.IsDir() && !pm.Exclusions() {
					return filepath.SkipDir
				}
				return nil
			}
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		link := ""
		switch {
		case info.Mode()&fs.ModeSymlink != 0:
			if link, err = os.Readlink(p); err != nil {
				return err
			}
		case info.IsDir(), info.Mode().IsRegular():
		default:
			return nil // sockets, devices and pipes have no place in a build context
		}
		hdr, err := tar.FileInfoHeader(info, link)
		if err != nil {
			return err
		}
		hdr.Name = name
		if info.IsDir() {
			hdr.Name += "/"
		}
		hdr.ModTime, hdr.AccessTime, hdr.ChangeTime = contextTime, time.Time{}, time.Time{}
		hdr.Uid, hdr.Gid, hdr.Uname, hdr.Gname = 0, 0, "", ""
		if !info.Mode().IsRegular() {
			return tw.WriteHeader(hdr)
		}
		if name == dfName && len(labels) > 0 {
			data, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			data = appendLabels(data, labels)
			hdr.Size = int64(len(data))
			if err := tw.WriteHeader(hdr); err != nil {
				return err
			}
			_, err = tw.Write(data)
			return err
		}
		if err := tw.WriteHeader(hdr); err != nil {
			return err
		}
		f, err := os.Open(p)
		if err != nil {
			return err
		}
		defer f.Close()
		_, err = io.Copy(tw, f)
		return err
	})
	if err != nil {
		return fmt.Errorf("sending build context %s: %w", dir, err)
	}
	if err := tw.Close(); err != nil {
		return fmt.Errorf("sending build context %s: %w", dir, err)
	}
	return nil
}

func readDockerignore(dir string) ([]string, error) {
	f, err := os.Open(filepath.Join(dir, ".dockerignore"))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("reading .dockerignore: %w", err)
	}
	defer f.Close()
	pats, err := ignorefile.ReadAll(f)
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", f.Name(), err)
	}
	return pats, nil
}

// oneLine reports whether every label fits a single Dockerfile line.
func oneLine(labels map[string]string) bool {
	for k, v := range labels {
		if strings.ContainsAny(k, "\r\n= \t\"") || strings.ContainsAny(v, "\r\n") || k == "" {
			return false
		}
	}
	return true
}

var escapeDirective = regexp.MustCompile(`(?i)^#\s*escape\s*=\s*(\S)\s*$`)

// appendLabels appends `LABEL "k"="v" …` (keys sorted) to a Dockerfile, quoting with the escape
// character its parser directives declare (default backslash).
func appendLabels(dockerfile []byte, labels map[string]string) []byte {
	esc := "\\"
	for _, line := range strings.Split(string(dockerfile), "\n") {
		line = strings.TrimSpace(line)
		if m := escapeDirective.FindStringSubmatch(line); m != nil {
			esc = m[1]
			continue
		}
		if !strings.HasPrefix(line, "#") || !strings.Contains(line, "=") {
			break // parser directives only come first
		}
	}
	quote := func(s string) string {
		var b strings.Builder
		b.WriteByte('"')
		for _, r := range s {
			if r == '"' || r == '$' || string(r) == esc {
				b.WriteString(esc)
			}
			b.WriteRune(r)
		}
		b.WriteByte('"')
		return b.String()
	}
	keys := make([]string, 0, len(labels))
	for k := range labels {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	out := append([]byte(nil), dockerfile...)
	out = append(out, "\n# labels added by shiplane\nLABEL"...)
	for _, k := range keys {
		out = append(out, ' ')
		out = append(out, quote(k)+"="+quote(labels[k])...)
	}
	return append(out, '\n')
}
