package pipeline

import (
	"bytes"
	"encoding/base64"
	"io"
	"net/url"
	"sort"
	"strings"
	"sync"
)

// Mask replaces every secret in redacted output.
const Mask = "***"

// Redactor is the set of secret values and the filter every output path goes through. For each
// secret it hides the raw value, its base64 encodings (standard and URL alphabets, padded or not)
// and its URL-escaped forms (query and path escaping); a multi-line secret also has each of its
// lines hidden on its own, so a line-by-line writer never lets one through. Overlapping matches
// are merged into one Mask, so no fragment of a secret survives next to another.
//
// A nil *Redactor hides nothing. A Redactor is safe for concurrent use; the zero value is ready.
type Redactor struct {
	mu       sync.RWMutex
	secrets  map[string]bool
	patterns []string // every hidden form, longest first
	maxLen   int
}

// NewRedactor returns an empty Redactor.
func NewRedactor() *Redactor { return &Redactor{} }

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

// addGuessed registers a value that is secret only because of the name it is stored under
// (GITHUB_TOKEN, db_password): values shorter than minGuessed and boolean words are left out,
// since a name such as USE_KEYRING=1 would otherwise mask every "1" in the output.
func (r *Redactor) addGuessed(s string) {
	t := strings.TrimSpace(s)
	if len(t) < minGuessed {
		return
	}
	switch strings.ToLower(t) {
	case "true", "false", "yes", "no", "on", "off":
		return
	}
	r.Add(s)
}

const minGuessed = 4

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

// forms returns every way a secret is hidden: raw, base64 and URL-escaped.
func forms(s string) []string {
	b := []byte(s)
	return []string{
		s,
		base64.StdEncoding.EncodeToString(b),
		base64.URLEncoding.EncodeToString(b),
		base64.RawStdEncoding.EncodeToString(b),
		base64.RawURLEncoding.EncodeToString(b),
		url.QueryEscape(s),
		url.PathEscape(s),
	}
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

// String returns s with every secret replaced by Mask.
func (r *Redactor) String(s string) string {
	if r == nil {
		return s
	}
	out, _ := r.redact([]byte(s), len(s))
	return string(out)
}

// Error returns err with its text redacted, or nil. errors.Is and errors.As still reach err (and
// so its unredacted fields: print the returned error, not what errors.As finds).
func (r *Redactor) Error(err error) error {
	if err == nil || r == nil {
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

func (r *Redactor) longest() int {
	if r == nil {
		return 0
	}
	r.mu.RLock()
	defer r.mu.RUnlock()
	return r.maxLen
}

// Writer returns a writer that masks every secret before writing to w. It passes on whole lines
// (a line ends at "\n" or "\r") and holds a partial line until it is complete, or until it grows
// past 64 KiB, so a secret written in pieces is still recognised. Call Flush when done: it writes
// what is held, then flushes w if w has a Flush() error method.
func (r *Redactor) Writer(w io.Writer) *RedactWriter {
	if w == nil {
		w = io.Discard
	}
	return &RedactWriter{r: r, w: w}
}

// RedactWriter is the writer Redactor.Writer returns. It is safe for concurrent use (a command's
// stdout and stderr may share one).
type RedactWriter struct {
	r   *Redactor
	w   io.Writer
	mu  sync.Mutex
	buf []byte
}

var _ io.Writer = (*RedactWriter)(nil)

const holdLimit = 64 << 10

// Write masks and writes every complete line of what it has been given, holding the rest.
func (rw *RedactWriter) Write(p []byte) (int, error) {
	rw.mu.Lock()
	defer rw.mu.Unlock()
	rw.buf = append(rw.buf, p...)
	cut := bytes.LastIndexAny(rw.buf, "\r\n") + 1
	if rest := len(rw.buf) - cut; rest > holdLimit {
		// A very long partial line: write all of it that cannot be the start of a secret still
		// arriving (any secret beginning earlier is complete in the buffer and found).
		cut = max(cut, len(rw.buf)-max(rw.r.longest()-1, 0))
	}
	if cut == 0 {
		return len(p), nil
	}
	if err := rw.emit(cut); err != nil {
		return 0, err
	}
	return len(p), nil
}

func (rw *RedactWriter) emit(cut int) error {
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
func (rw *RedactWriter) Flush() error {
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

// looksSecret reports whether a name (an environment variable, a var, an env key) says its value
// is a secret: it contains TOKEN, PASSWORD, PASSWD, PASSPHRASE, SECRET or CREDENTIAL, or one of
// its words (split at "_", "-" and ".") is or ends with KEY (API_KEY, APIKEY, SSH_KEY).
func looksSecret(name string) bool {
	u := strings.ToUpper(name)
	for _, s := range []string{"TOKEN", "PASSWORD", "PASSWD", "PASSPHRASE", "SECRET", "CREDENTIAL"} {
		if strings.Contains(u, s) {
			return true
		}
	}
	for _, w := range strings.FieldsFunc(u, func(c rune) bool { return c == '_' || c == '-' || c == '.' }) {
		if strings.HasSuffix(w, "KEY") {
			return true
		}
	}
	return false
}

// has reports whether s is a registered secret.
func (r *Redactor) has(s string) bool {
	if r == nil {
		return false
	}
	r.mu.RLock()
	defer r.mu.RUnlock()
	return r.secrets[s]
}
