// Package static is the base image's second program, `healthcheck serve`: a tiny read-only web
// server for a directory of files, so a component with no program of its own (a static site) can
// be an image FROM base and still answer /healthz and /version like every other service.
//
//	healthcheck serve [-name NAME] -version-file FILE DIR
//
// It listens on $PORT (default 8080) and answers only GET and HEAD (anything else is 405):
//
//	/healthz  {"status":"ok"}
//	/version  {"name":NAME,"version":<the first line of FILE>}
//	/<path>   the file DIR/<path>; a directory answers its index.html, never a listing
//
// Nothing outside DIR is ever served: requests are resolved inside an os.Root, so neither ".."
// nor a symbolic link leads out of it, and names starting with "." (".git", ".env") are not
// found. Files are served with http.ServeContent (Content-Type from the extension,
// Last-Modified, Range).
package static

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"path"
	"strings"

	"github.com/shiplane/shiplane/services/base/svc"
)

// DefaultPort is the port served when PORT is unset.
const DefaultPort = 8080

// Usage is the command line the serve mode takes.
const Usage = "usage: healthcheck serve [-name NAME] -version-file FILE DIR"

// Config is one static server: the directory it serves and what /version answers.
type Config struct {
	// Dir is the directory served.
	Dir string
	// Info is what /version answers; Info.Version comes from the version file.
	Info svc.Info
}

// ParseArgs reads the arguments after "serve": -name (default "static"), -version-file (required;
// its first line, trimmed, is the version) and the directory. readFile reads the version file
// (os.ReadFile in the program).
func ParseArgs(args []string, readFile func(string) ([]byte, error)) (Config, error) {
	fl := flag.NewFlagSet("serve", flag.ContinueOnError)
	fl.SetOutput(io.Discard)
	name := fl.String("name", "static", "the name /version answers")
	versionFile := fl.String("version-file", "", "the file whose first line is the version /version answers")
	if err := fl.Parse(args); err != nil {
		return Config{}, fmt.Errorf("%w; %s", err, Usage)
	}
	if fl.NArg() != 1 {
		return Config{}, fmt.Errorf("want one directory to serve, got %d arguments; %s", fl.NArg(), Usage)
	}
	if *versionFile == "" {
		return Config{}, fmt.Errorf("-version-file is required (the file holding the site's version, such as its VERSION); %s", Usage)
	}
	data, err := readFile(*versionFile)
	if err != nil {
		return Config{}, fmt.Errorf("reading the version file: %w", err)
	}
	version, _, _ := strings.Cut(string(data), "\n")
	version = strings.TrimSpace(version)
	if version == "" {
		return Config{}, fmt.Errorf("version file %s: the first line is empty; write the version (such as 0.1.0) on it", *versionFile)
	}
	return Config{Dir: fl.Arg(0), Info: svc.Info{Name: *name, Version: version}}, nil
}

// Run serves c.Dir on $PORT (default DefaultPort) until ctx ends. It has the shape of svc.RunFunc:
// svc.Main(c.Info, c.Run).
func (c Config) Run(ctx context.Context, info svc.Info, env svc.Env, log *slog.Logger) error {
	addr, err := env.Addr(DefaultPort)
	if err != nil {
		return err
	}
	root, err := os.OpenRoot(c.Dir)
	if err != nil {
		return fmt.Errorf("opening the directory to serve: %w", err)
	}
	defer root.Close()
	log.Info("serving files", "dir", c.Dir)
	return svc.ListenAndServe(ctx, log, addr, Handler(root.FS(), info))
}

// Handler answers GET and HEAD with /healthz, /version (info) and the files of fsys; any other
// method is 405 with an Allow header. fsys must keep its names inside itself, as an os.Root's FS
// does for "..", absolute paths and symbolic links.
func Handler(fsys fs.FS, info svc.Info) http.Handler {
	mux := svc.NewMux(info)
	mux.Handle("GET /", files{fsys})
	return mux
}

type files struct{ fsys fs.FS }

func (h files) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	name, ok := fsName(r.URL.Path)
	if !ok {
		http.NotFound(w, r)
		return
	}
	f, info, err := h.open(name)
	if err != nil {
		http.NotFound(w, r)
		return
	}
	if info.IsDir() {
		f.Close()
		if !strings.HasSuffix(r.URL.Path, "/") {
			// Relative links in the index resolve against the directory only with the slash.
			target := &url.URL{Path: r.URL.Path + "/", RawQuery: r.URL.RawQuery}
			http.Redirect(w, r, target.String(), http.StatusMovedPermanently)
			return
		}
		f, info, err = h.open(path.Join(name, "index.html"))
		if err != nil || info.IsDir() {
			if f != nil {
				f.Close()
			}
			http.NotFound(w, r) // no index: no listing either
			return
		}
	}
	defer f.Close()
	if !info.Mode().IsRegular() {
		http.NotFound(w, r)
		return
	}
	content, ok := f.(io.ReadSeeker)
	if !ok {
		data, err := io.ReadAll(f)
		if err != nil {
			http.Error(w, "reading the file failed", http.StatusInternalServerError)
			return
		}
		content = bytes.NewReader(data)
	}
	w.Header().Set("X-Content-Type-Options", "nosniff")
	http.ServeContent(w, r, info.Name(), info.ModTime(), content)
}

func (h files) open(name string) (fs.File, fs.FileInfo, error) {
	f, err := h.fsys.Open(name)
	if err != nil {
		return nil, nil, err
	}
	info, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, nil, err
	}
	return f, info, nil
}

// fsName turns a request path into a name inside the served directory: "/" is ".", "/a/b.html"
// is "a/b.html" (".." cannot climb above "/"). A name with a dot file or directory in it, a
// backslash or a NUL is refused.
func fsName(urlPath string) (string, bool) {
	if !strings.HasPrefix(urlPath, "/") || strings.ContainsAny(urlPath, "\\\x00") {
		return "", false
	}
	name := strings.TrimPrefix(path.Clean(urlPath), "/")
	if name == "" {
		return ".", true
	}
	if !fs.ValidPath(name) {
		return "", false
	}
	for _, part := range strings.Split(name, "/") {
		if strings.HasPrefix(part, ".") {
			return "", false
		}
	}
	return name, true
}
