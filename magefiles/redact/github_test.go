package redact_test

import (
	"bytes"
	"encoding/base64"
	"errors"
	"net/url"
	"strings"
	"testing"

	"github.com/shiplane/shiplane/magefiles/redact"
	"github.com/shiplane/shiplane/magefiles/testenv/golden"
)

// githubMasked does what the runner does with the values of add-mask commands: it finds every
// occurrence of each in text and replaces each run of overlapping occurrences with "***".
func githubMasked(commands, text string) string {
	hidden := make([]bool, len(text))
	for _, line := range strings.Split(strings.TrimSuffix(commands, "\n"), "\n") {
		v := strings.TrimPrefix(line, "::add-mask::")
		v = strings.NewReplacer("%0D", "\r", "%0A", "\n", "%25", "%").Replace(v)
		for i := 0; i+len(v) <= len(text); i++ {
			if text[i:i+len(v)] == v {
				for j := i; j < i+len(v); j++ {
					hidden[j] = true
				}
			}
		}
	}
	var out strings.Builder
	for i := 0; i < len(text); i++ {
		switch {
		case !hidden[i]:
			out.WriteByte(text[i])
		case i == 0 || !hidden[i-1]:
			out.WriteString("***")
		}
	}
	return out.String()
}

// TestGitHubMasks: the add-mask commands for a secret are its value and every form of it long
// enough (testdata/github-masks.golden), one a line, the data escaped as workflow commands escape
// it ("%" as "%25"), never a form shorter than four characters. A second call writes only what
// is new.
func TestGitHubMasks(t *testing.T) {
	const secret = "p@ss w/rd+~é?" // its base64 differs in the two alphabets
	r := redact.New()
	r.Add(secret)
	var out bytes.Buffer
	if err := r.GitHubMasks(&out); err != nil {
		t.Fatal(err)
	}
	golden.Check(t, "github-masks", out.String())
	checkCommands(t, out.String())

	// What GitHub then hides: the secret raw, escaped, and in base64 after any prefix.
	for _, text := range []string{
		secret, url.QueryEscape(secret), url.PathEscape(secret),
		base64.StdEncoding.EncodeToString([]byte(secret)),
		base64.RawURLEncoding.EncodeToString([]byte(secret)),
	} {
		if got := githubMasked(out.String(), "<"+text+">"); got != "<***>" {
			t.Errorf("GitHub would show %q as %q", text, got)
		}
	}
	for _, prefix := range []string{"u:", "us:", "user:"} {
		enc := base64.URLEncoding.EncodeToString([]byte(prefix + secret))
		lo := (8*len(prefix) + 5) / 6
		if got := githubMasked(out.String(), enc); got != enc[:lo]+"***" {
			t.Errorf("GitHub would show base64(%q) %q as %q", prefix+secret, enc, got)
		}
	}

	out.Reset()
	if err := r.GitHubMasks(&out); err != nil || out.Len() != 0 {
		t.Fatalf("second call wrote %q, %v", out.String(), err)
	}
	r.Add("ab", "  ")
	r.AddGuessed("guessed1")
	if err := r.GitHubMasks(&out); err != nil {
		t.Fatal(err)
	}
	// "ab": base64 "YWI=" and, after two bytes, "..hYg==" (shorter forms are left out); "  ":
	// nothing; "guessed1": itself and its base64 at each alignment, every form eight or longer.
	if want := "::add-mask::YWI=\n::add-mask::hYg==\n" +
		"::add-mask::guessed1\n" +
		"::add-mask::Z3Vlc3NlZD\n::add-mask::Z3Vlc3NlZDE\n::add-mask::Z3Vlc3NlZDE=\n" +
		"::add-mask::d1ZXNzZWQx\n" +
		"::add-mask::ndWVzc2VkM\n::add-mask::ndWVzc2VkMQ\n::add-mask::ndWVzc2VkMQ==\n"; out.String() != want {
		t.Errorf("after more secrets: got\n%s\nwant\n%s", out.String(), want)
	}
}

// TestGitHubMasksMultiLine: a multi-line secret is registered line by line (lines shorter than
// four characters aside), and its escaped and base64 forms, which are single lines, whole
// (testdata/github-masks-multiline.golden).
func TestGitHubMasksMultiLine(t *testing.T) {
	r := redact.New()
	r.Add("-----BEGIN KEY-----\nMIIBOgIBAAJBAKj34GkxFhD9\r\nab\n-----END KEY-----\n")
	var out bytes.Buffer
	if err := r.GitHubMasks(&out); err != nil {
		t.Fatal(err)
	}
	golden.Check(t, "github-masks-multiline", out.String())
	checkCommands(t, out.String())
	for _, want := range []string{"-----BEGIN KEY-----", "MIIBOgIBAAJBAKj34GkxFhD9", "-----END KEY-----"} {
		if !strings.Contains(out.String(), "::add-mask::"+want+"\n") {
			t.Errorf("line %q is not registered", want)
		}
	}
	if strings.Contains(out.String(), "::add-mask::ab\n") {
		t.Error("a two-character line is registered")
	}
	multi := "-----BEGIN KEY-----\nMIIBOgIBAAJBAKj34GkxFhD9\r\nab\n-----END KEY-----"
	for _, text := range []string{url.QueryEscape(multi), base64.StdEncoding.EncodeToString([]byte("auth:" + multi))} {
		if got := githubMasked(out.String(), text); strings.Count(got, "***") != 1 || len(got) > 12 {
			t.Errorf("GitHub would show %q as %q", text, got)
		}
	}
}

// checkCommands checks that every line is an add-mask command for a value of one line, four
// characters or more.
func checkCommands(t *testing.T, commands string) {
	t.Helper()
	for _, line := range strings.Split(strings.TrimSuffix(commands, "\n"), "\n") {
		v, ok := strings.CutPrefix(line, "::add-mask::")
		if !ok || len(v) < 4 || strings.ContainsAny(v, "\r\n") {
			t.Errorf("command %q", line)
		}
	}
}

// TestGitHubMasksWriteError: a failed write is reported, and the commands are written again on
// the next call.
func TestGitHubMasksWriteError(t *testing.T) {
	r := redact.New()
	r.Add("hunter22")
	broken := errors.New("broken pipe")
	if err := r.GitHubMasks(failingWriter{broken}); !errors.Is(err, broken) {
		t.Fatalf("err = %v", err)
	}
	var out bytes.Buffer
	if err := r.GitHubMasks(&out); err != nil || !strings.HasPrefix(out.String(), "::add-mask::hunter22\n") {
		t.Fatalf("after the failure: %q, %v", out.String(), err)
	}
	var nilRed *redact.Redactor
	if err := nilRed.GitHubMasks(&out); err != nil {
		t.Fatal(err)
	}
}

type failingWriter struct{ err error }

func (w failingWriter) Write([]byte) (int, error) { return 0, w.err }
