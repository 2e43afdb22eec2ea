// Package redact is shiplane's one redactor: the set of secret values every output path, error
// and progress line goes through, masked everywhere the same way, with Mask.
//
//	red := redact.New()
//	red.Add(os.Getenv("GITHUB_TOKEN"))
//	out := red.Writer(os.Stderr) // masks across write boundaries; Flush when done
//	return red.Error(err)        // masked text, errors.Is/As still reach err
//
// Besides the registered values it masks credentials by their shape, whoever they belong to: the
// user information of a URL ("https://***@host"), the value of a Basic or Bearer Authorization,
// and token, password and secret parameters ("access_token=***").
package redact

import (
	"bytes"
	"encoding/base64"
	"errors"
	"io"
	"net/url"
	"regexp"
	"sort"
	"strings"
	"sync"
)

// Mask replaces every secret in redacted output.
const Mask = "***"

// Redactor is the set of secret values and the filter every output path goes through. For each
// secret it hides the raw value, its base64 encodings (standard and URL alphabets, padded or not,
// alone and as the password of the "x-access-token:" Basic auth git and GitHub use) and its
// URL-escaped forms (query and path escaping); a multi-line secret also has each of its lines
// hidden on its own, so a line-by-line writer never lets one through. It also masks credentials
// by their shape (see the package comment). Overlapping matches are merged into one Mask, so no
// fragment of a secret survives next to another.
//
// A nil *Redactor hides nothing. A Redactor is safe for concurrent use; the zero value is ready.
type Redactor struct {
	mu       sync.RWMutex
	secrets  map[string]bool
	patterns []string // every hidden form, longest first
	maxLen   int
}

// New returns a Redactor that knows no secret yet.
func New() *Redactor { return &Redactor{} }

// minLine is the shortest line of a multi-line secret that is hidden on its own (shorter lines,
// such as a lone "}" or "==", would mask ordinary output all over).
const minLine = 4

// Add registers secrets. Empty strings are ignored; every other value is hidden, however short,
// so register only real secrets: a one-letter secret masks that letter everywhere.
func (r *Redactor) Add(secrets ...string) {
	if r == nil {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.secrets == nil {
		r.secrets = map[string]bool{}
	}
	changed := false
	add := func(s string) {
		if s == "" || r.secrets[s] {
			return
		}
		r.secrets[s] = true
		changed = true
	}
	for _, s := range secrets {
		add(s)
		add(strings.TrimSpace(s))
		if strings.ContainsAny(s, "\r\n") {
			for _, line := range strings.FieldsFunc(s, func(c rune) bool { return c == '\n' || c == '\r' }) {
				if line = strings.TrimSpace(line); len(line) >= minLine {
					add(line)
				}
			}
		}
	}
	if changed {
		r.rebuild()
	}
}

func (r *Redactor) rebuild() {
	// A new slice: readers keep using the snapshot they took under the read lock.
	seen := map[string]bool{}
	r.patterns = nil
	r.maxLen = 0
	for s := range r.secrets {
		for _, f := range forms(s) {
			if f == "" || seen[f] {
				continue
			}
			seen[f] = true
			r.patterns = append(r.patterns, f)
			r.maxLen = max(r.maxLen, len(f))
		}
	}
	sort.Slice(r.patterns, func(i, j int) bool {
		if len(r.patterns[i]) != len(r.patterns[j]) {
			return len(r.patterns[i]) > len(r.patterns[j])
		}
		return r.patterns[i] < r.patterns[j]
	})
}

// basicUser is the user name git and GitHub send a token as the password of, in Basic auth.
const basicUser = "x-access-token:"

// forms returns every way a secret is hidden: raw, base64 (alone and as a Basic auth password)
// and URL-escaped.
func forms(s string) []string {
	out := []string{s, url.QueryEscape(s), url.PathEscape(s)}
	for _, v := range []string{s, basicUser + s} {
		b := []byte(v)
		out = append(out,
			base64.StdEncoding.EncodeToString(b),
			base64.URLEncoding.EncodeToString(b),
			base64.RawStdEncoding.EncodeToString(b),
			base64.RawURLEncoding.EncodeToString(b))
	}
	return out
}

// Len returns how many secrets are registered (each counted once, whatever its forms).
func (r *Redactor) Len() int {
	if r == nil {
		return 0
	}
	r.mu.RLock()
	defer r.mu.RUnlock()
	return len(r.secrets)
}

// Has reports whether s is a registered secret.
func (r *Redactor) Has(s string) bool {
	if r == nil {
		return false
	}
	r.mu.RLock()
	defer r.mu.RUnlock()
	return r.secrets[s]
}

// String returns s with every secret replaced by Mask.
func (r *Redactor) String(s string) string {
	if r == nil {
		return s
	}
	out, _ := r.redact([]byte(s), len(s))
	return string(out)
}

// URL removes the user information of u and masks every secret in its path and query, in place.
func (r *Redactor) URL(u *url.URL) {
	if u == nil {
		return
	}
	u.User = nil
	u.RawQuery = r.String(u.RawQuery)
	u.Path, u.RawPath = r.String(u.Path), r.String(u.RawPath)
}

// Error returns err with its text redacted, or nil. errors.Is and errors.As still reach err (and
// so its unredacted fields: print the returned error, not what errors.As finds). An error this
// Redactor already returned is returned as it is.
func (r *Redactor) Error(err error) error {
	if err == nil || r == nil {
		return err
	}
	var already *redactedError
	if errors.As(err, &already) && already == err && already.red == r {
		return err
	}
	return &redactedError{err: err, red: r}
}

type redactedError struct {
	err error
	red *Redactor
}

func (e *redactedError) Error() string { return e.red.String(e.err.Error()) }
func (e *redactedError) Unwrap() error { return e.err }

// Credentials by their shape: each expression's first group is what is masked.
var shapes = []*regexp.Regexp{
	// scheme://user[:password]@
	regexp.MustCompile(`[A-Za-z][A-Za-z0-9+.\-]*://([^\s/?#@"']+)@`),
	// a bare user:password@host at the start of a word or after a quote
	regexp.MustCompile(`(?:^|[\s"'(=])([^\s/?#@"':]+:[^\s/?#@"']+)@`),
	// Authorization header values
	regexp.MustCompile(`(?i)\b(?:basic|bearer)\s+([A-Za-z0-9+/=._~\-]{8,})`),
	// token-ish parameters
	regexp.MustCompile(`(?i)\b(?:access_token|refresh_token|token|password|passwd|secret)=([^&\s"']+)`),
}

// redact masks every secret in b and returns the masked text of b[:cut] and the cut actually used:
// cut moves forward to the end of a secret that straddles it, so a secret is never split between
// what is written now and what is held back.
func (r *Redactor) redact(b []byte, cut int) ([]byte, int) {
	r.mu.RLock()
	pats := r.patterns
	r.mu.RUnlock()
	var spans [][2]int
	for _, p := range pats {
		pb := []byte(p)
		for off := 0; off < len(b); {
			i := bytes.Index(b[off:], pb)
			if i < 0 {
				break
			}
			spans = append(spans, [2]int{off + i, off + i + len(pb)})
			off += i + 1
		}
	}
	for _, re := range shapes {
		for _, m := range re.FindAllSubmatchIndex(b, -1) {
			if m[2] >= 0 && m[3] > m[2] {
				spans = append(spans, [2]int{m[2], m[3]})
			}
		}
	}
	if len(spans) == 0 {
		return append([]byte(nil), b[:cut]...), cut
	}
	sort.Slice(spans, func(i, j int) bool { return spans[i][0] < spans[j][0] })
	merged := spans[:1]
	for _, s := range spans[1:] {
		last := &merged[len(merged)-1]
		if s[0] <= last[1] {
			last[1] = max(last[1], s[1])
			continue
		}
		merged = append(merged, s)
	}
	for _, s := range merged {
		if s[0] < cut && cut < s[1] {
			cut = s[1]
		}
	}
	var out []byte
	prev := 0
	for _, s := range merged {
		if s[0] >= cut {
			break
		}
		out = append(out, b[prev:s[0]]...)
		out = append(out, Mask...)
		prev = s[1]
	}
	if prev < cut {
		out = append(out, b[prev:cut]...)
	}
	return out, cut
}

// shapeHold is how much of a very long partial line is held back for a credential known by its
// shape that may still be arriving.
func (r *Redactor) shapeHold() int {
	if r == nil {
		return 0
	}
	return 256
}

func (r *Redactor) longest() int {
	if r == nil {
		return 0
	}
	r.mu.RLock()
	defer r.mu.RUnlock()
	return r.maxLen
}

// Writer returns a writer that masks every secret before writing to w (io.Discard when nil). It
// passes on whole lines (a line ends at "\n" or "\r") and holds a partial line until it is
// complete, or until it grows past 64 KiB, so a secret written in pieces is still recognised.
// Call Flush when done: it writes what is held, then flushes w if w has a Flush() error method.
func (r *Redactor) Writer(w io.Writer) *Writer {
	if w == nil {
		w = io.Discard
	}
	return &Writer{r: r, w: w}
}

// Writer is the writer Redactor.Writer returns. It is safe for concurrent use (a command's
// stdout and stderr may share one).
type Writer struct {
	r   *Redactor
	w   io.Writer
	mu  sync.Mutex
	buf []byte
}

var _ io.Writer = (*Writer)(nil)

const holdLimit = 64 << 10

// Write masks and writes every complete line of what it has been given, holding the rest.
func (rw *Writer) Write(p []byte) (int, error) {
	rw.mu.Lock()
	defer rw.mu.Unlock()
	rw.buf = append(rw.buf, p...)
	cut := bytes.LastIndexAny(rw.buf, "\r\n") + 1
	if rest := len(rw.buf) - cut; rest > holdLimit {
		// A very long partial line: write all of it that cannot be the start of a secret still
		// arriving (any secret beginning earlier is complete in the buffer and found), holding a
		// little more for a credential known by its shape.
		cut = max(cut, len(rw.buf)-max(rw.r.longest()-1, rw.r.shapeHold()))
	}
	if cut == 0 {
		return len(p), nil
	}
	if err := rw.emit(cut); err != nil {
		return 0, err
	}
	return len(p), nil
}

func (rw *Writer) emit(cut int) error {
	var out []byte
	if rw.r == nil {
		out = append([]byte(nil), rw.buf[:cut]...)
	} else {
		out, cut = rw.r.redact(rw.buf, cut)
	}
	rw.buf = append(rw.buf[:0:0], rw.buf[cut:]...)
	if len(out) == 0 {
		return nil
	}
	_, err := rw.w.Write(out)
	return err
}

// Flush masks and writes whatever is held, then flushes the underlying writer if it can be.
func (rw *Writer) Flush() error {
	rw.mu.Lock()
	defer rw.mu.Unlock()
	if len(rw.buf) > 0 {
		if err := rw.emit(len(rw.buf)); err != nil {
			return err
		}
	}
	if f, ok := rw.w.(interface{ Flush() error }); ok {
		return f.Flush()
	}
	return nil
}
