package redact

import (
	"bytes"
	"fmt"
	"io"
	"net/url"
	"sort"
	"strings"
)

// GitHubMasks writes to w a GitHub Actions add-mask workflow command ("::add-mask::<value>", one
// a line) for every secret registered and every form of it at least four characters long (eight
// for a guessed secret's derived forms, as for masking): the value itself, its query and path
// escaped forms, and its base64 forms in both alphabets, padded or not, at each alignment (see
// Redactor). GitHub masks literal strings only, so each form is registered on its own. A value
// of several lines is registered line by line (add-mask takes one line); a blank one is left
// out. The values are escaped as workflow command data ("%" as "%25", CR as "%0D", LF as "%0A").
//
// The runner reads workflow commands from the step's stdout: in a GitHub Actions job the caller
// writes these to stdout before anything else is printed, and calls GitHubMasks again whenever
// it registers more secrets. Each command is written once per Redactor; after a failed write the
// same commands are written again on the next call. GitHub does not mask the pieces of a secret's
// base64 wrapped over several lines; the Redactor does, for all that goes through it.
func (r *Redactor) GitHubMasks(w io.Writer) error {
	if r == nil {
		return nil
	}
	r.ghMu.Lock()
	defer r.ghMu.Unlock()
	r.mu.RLock()
	secrets := make([]string, 0, len(r.secrets))
	origins := make(map[string]origin, len(r.secrets))
	for s, o := range r.secrets {
		secrets = append(secrets, s)
		origins[s] = o
	}
	r.mu.RUnlock()
	sort.Strings(secrets)

	var out bytes.Buffer
	var fresh []string
	seen := map[string]bool{}
	for _, s := range secrets {
		for _, f := range githubForms(s, origins[s]) {
			if r.ghDone[f] || seen[f] {
				continue
			}
			seen[f] = true
			fresh = append(fresh, f)
			out.WriteString("::add-mask::" + escapeCommandData(f) + "\n")
		}
	}
	if out.Len() == 0 {
		return nil
	}
	if _, err := w.Write(out.Bytes()); err != nil {
		return fmt.Errorf("writing the GitHub Actions add-mask commands: %w", err)
	}
	if r.ghDone == nil {
		r.ghDone = map[string]bool{}
	}
	for _, f := range fresh {
		r.ghDone[f] = true
	}
	return nil
}

// githubForms returns the literal forms of s that GitHub is asked to mask, in a fixed order.
func githubForms(s string, o origin) []string {
	t := strings.TrimSpace(s)
	if t == "" {
		return nil
	}
	minLen := minForm
	if o == guessed {
		minLen = minGuessedForm
	}
	var forms []string
	if t == s && !strings.ContainsAny(s, "\r\n") && len(s) >= minForm {
		forms = append(forms, s) // a multi-line secret's lines are secrets of their own
	}
	for _, f := range []string{url.QueryEscape(s), url.PathEscape(s)} {
		if f != s && len(f) >= minLen {
			forms = append(forms, f)
		}
	}
	toURL := strings.NewReplacer("+", "-", "/", "_")
	for _, b := range base64Forms(s) {
		for _, f := range []string{b.core, b.core + b.raw, b.core + b.padded} {
			if len(f) >= minLen {
				forms = append(forms, f, toURL.Replace(f))
			}
		}
	}
	return forms
}

// escapeCommandData escapes s as the data of a workflow command, as the runner unescapes it.
func escapeCommandData(s string) string {
	return strings.NewReplacer("%", "%25", "\r", "%0D", "\n", "%0A").Replace(s)
}

// EscapeCommandData escapes s as the data of a workflow command ("::error::<data>"): "%" as
// "%25", CR as "%0D", LF as "%0A", as the runner unescapes it.
func EscapeCommandData(s string) string { return escapeCommandData(s) }

// EscapeCommandProperty escapes s as a property value of a workflow command
// ("::error file=<value>::"): as EscapeCommandData, and ":" as "%3A", "," as "%2C".
func EscapeCommandProperty(s string) string {
	return strings.NewReplacer("%", "%25", "\r", "%0D", "\n", "%0A", ":", "%3A", ",", "%2C").Replace(s)
}
