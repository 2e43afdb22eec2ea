// Package redact is shiplane's one redactor: the set of secret values every output path, error
// and progress line goes through, masked everywhere the same way, with Mask, in every form a
// secret travels in (raw, URL-encoded, base64 after any prefix, base64 wrapped over lines; see
// Redactor).
//
//	red := redact.New()
//	red.Add(os.Getenv("GITHUB_TOKEN"))
//	out := red.Writer(os.Stderr) // masks across write boundaries; Flush when done
//	return red.Error(err)        // masked text, errors.Is/As still reach err
//
// Besides the registered values it masks credentials by their shape, whoever they belong to: the
// user information of a URL ("https://***@host"), the value of a Basic or Bearer Authorization,
// and token, password and secret parameters ("access_token=***").
//
// In a GitHub Actions job, GitHubMasks writes the add-mask commands that make the runner mask
// the same secrets in the job's log, output no Redactor sees included.
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
// secret it hides every form the secret travels in:
//
//   - the raw value, and the value URL-encoded in any way: any of its bytes written as %XX (upper
//     or lower case hex), a space also as "+" (query escaping, path escaping, form encoding);
//   - its base64 encoding, standard or URL alphabet, padded or not, alone or inside a longer
//     base64 stream, at each of the three alignments the bytes before it can give it
//     (base64("user:" + secret) in Basic auth and a Docker config's auth): whatever comes before
//     it, every character whose six bits all come from the secret is hidden, and so are the last
//     character and the padding when the stream ends with the secret;
//   - that base64 wrapped over several lines (MIME and PEM wrap at 76 and 64 columns; any width
//     and indentation will do): on every line, the piece of the secret's characters that ends the
//     line, begins it or fills it is hidden, so no line shows a run of them.
//
// Derived forms (the base64 forms and their pieces on wrapped lines) shorter than four
// characters, eight for a guessed secret (AddGuessed), are not hidden: they would hide ordinary
// text everywhere. So a line may keep up to three (seven) of the secret's base64 characters next
// to a line break. A multi-line secret also has each of its lines hidden on its own, so a
// line-by-line writer never lets one through. It also masks credentials by their shape (see the
// package comment). Overlapping matches are merged into one Mask, so no fragment of a secret
// survives next to another.
//
// A nil *Redactor hides nothing. A Redactor is safe for concurrent use; the zero value is ready.
type Redactor struct {
	mu      sync.RWMutex
	secrets map[string]origin
	m       *matcher // an immutable snapshot of what to look for; nil when there is no secret

	ghMu   sync.Mutex
	ghDone map[string]bool // the forms GitHubMasks has written
}

// origin says how a secret was registered: declared (Add) wins over guessed (AddGuessed).
type origin uint8

const (
	guessed origin = iota + 1
	declared
)

// New returns a Redactor that knows no secret yet.
func New() *Redactor { return &Redactor{} }

// minLine is the shortest line of a multi-line secret that is hidden on its own (shorter lines,
// such as a lone "}" or "==", would mask ordinary output all over).
const minLine = 4

// minForm is the shortest derived form (a shifted base64 encoding, a piece of one on a line of
// its own) that is hidden for a declared secret; minGuessedForm is the same for a guessed one.
// Shorter forms would hide ordinary text everywhere.
const (
	minForm        = 4
	minGuessedForm = 8
)

// Add registers secrets. Empty strings are ignored; every other value is hidden, however short,
// so register only real secrets: a one-letter secret masks that letter everywhere. Its derived
// forms (base64, see Redactor) are hidden when they are at least four characters long.
func (r *Redactor) Add(secrets ...string) { r.add(declared, secrets) }

func (r *Redactor) add(o origin, secrets []string) {
	if r == nil {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.secrets == nil {
		r.secrets = map[string]origin{}
	}
	changed := false
	add := func(s string) {
		if s == "" || r.secrets[s] >= o {
			return
		}
		r.secrets[s] = o
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
		r.m = newMatcher(r.secrets)
	}
}

// basicUser is the user name git and GitHub send a token as the password of, in Basic auth.
const basicUser = "x-access-token:"

// matcher is what a Redactor looks for, built from its secrets.
type matcher struct {
	plain  [][]byte // secrets, found raw or URL-encoded (urlMatch)
	b64    [][]byte // base64 forms, standard alphabet; found with "-" and "_" read as "+" and "/"
	pieces []piece  // base64 cores, whose pieces are found at line ends (wrapped base64)
	maxLen int      // the longest text any of them matches
}

// piece is the core of a secret's base64 at one alignment, what follows the core when the data
// ends with the secret (padded, then not), and the shortest piece of the core found at a line's
// end or start.
type piece struct {
	core  []byte
	tails [][]byte
	min   int
}

func newMatcher(secrets map[string]origin) *matcher {
	m := &matcher{}
	seen := map[string]bool{}
	for s, o := range secrets {
		m.plain = append(m.plain, []byte(s))
		m.maxLen = max(m.maxLen, 3*len(s))
		minLen := minForm
		if o == guessed {
			minLen = minGuessedForm
		}
		v := []byte(basicUser + s)
		b64 := []string{base64.StdEncoding.EncodeToString(v), base64.RawStdEncoding.EncodeToString(v)}
		for _, f := range base64Forms(s) {
			b64 = append(b64, f.core, f.core+f.padded, f.core+f.raw)
			if len(f.core) > minLen {
				p := piece{core: []byte(f.core), min: minLen}
				for _, t := range []string{f.padded, f.raw} {
					if t != "" {
						p.tails = append(p.tails, []byte(t))
					}
				}
				m.pieces = append(m.pieces, p)
			}
		}
		for _, f := range b64 {
			if len(f) >= minLen && !seen[f] {
				seen[f] = true
				m.b64 = append(m.b64, []byte(f))
				m.maxLen = max(m.maxLen, len(f))
			}
		}
	}
	sort.Slice(m.plain, func(i, j int) bool { return bytes.Compare(m.plain[i], m.plain[j]) < 0 })
	sort.Slice(m.b64, func(i, j int) bool { return bytes.Compare(m.b64[i], m.b64[j]) < 0 })
	sort.Slice(m.pieces, func(i, j int) bool { return bytes.Compare(m.pieces[i].core, m.pieces[j].core) < 0 })
	return m
}

// base64Form is a secret's base64 (standard alphabet) at one alignment: the characters whose six
// bits all come from the secret, and what follows them when the data ends with the secret, padded
// and not (the last character, carrying the secret's last bits and zeros, then "=" or "==").
type base64Form struct{ core, padded, raw string }

// base64Forms returns the base64 forms of s at each alignment a, the number of bytes, modulo 3,
// before s in the encoded data. Character i carries bits 6i to 6i+6 and s's bits start at 8a, so
// s alone determines characters ceil(8a/6) up to floor(8(a+len(s))/6). At alignment 0 the core
// and its tails are the encodings of s itself.
func base64Forms(s string) []base64Form {
	var forms []base64Form
	for a := 0; a < 3; a++ {
		data := append(make([]byte, a), s...)
		raw := base64.RawStdEncoding.EncodeToString(data)
		padded := base64.StdEncoding.EncodeToString(data)
		lo, hi := (8*a+5)/6, 8*(a+len(s))/6
		if hi > lo {
			forms = append(forms, base64Form{raw[lo:hi], padded[hi:], raw[hi:]})
		}
	}
	return forms
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
	return r.secrets[s] != 0
}

// String returns s with every secret replaced by Mask.
func (r *Redactor) String(s string) string {
	if r == nil {
		return s
	}
	out, _ := r.redact([]byte(s), len(s), true, true)
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
// what is written now and what is held back. atStart and atEnd say whether b begins and ends at a
// line's start and end (rather than where a long line was cut).
func (r *Redactor) redact(b []byte, cut int, atStart, atEnd bool) ([]byte, int) {
	r.mu.RLock()
	m := r.m
	r.mu.RUnlock()
	var spans [][2]int
	if m != nil {
		spans = m.spans(b, atStart, atEnd)
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
	if r.m == nil {
		return 0
	}
	return r.m.maxLen
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
	r       *Redactor
	w       io.Writer
	mu      sync.Mutex
	buf     []byte
	midLine bool // buf does not begin a line: a long line was cut
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
	if err := rw.emit(cut, false); err != nil {
		return 0, err
	}
	return len(p), nil
}

// emit masks and writes buf[:cut] (or a little more, see redact); atEnd says that buf ends a line.
func (rw *Writer) emit(cut int, atEnd bool) error {
	var out []byte
	if rw.r == nil {
		out = append([]byte(nil), rw.buf[:cut]...)
	} else {
		out, cut = rw.r.redact(rw.buf, cut, !rw.midLine, atEnd)
	}
	if cut > 0 {
		rw.midLine = rw.buf[cut-1] != '\n' && rw.buf[cut-1] != '\r'
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
		if err := rw.emit(len(rw.buf), true); err != nil {
			return err
		}
	}
	if f, ok := rw.w.(interface{ Flush() error }); ok {
		return f.Flush()
	}
	return nil
}
