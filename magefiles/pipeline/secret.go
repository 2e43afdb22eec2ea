package pipeline

import (
	"strings"

	"github.com/shiplane/shiplane/magefiles/redact"
)

// Redactor is the shared redactor (package redact) the pipeline feeds and masks its output with.
type Redactor = redact.Redactor

// RedactWriter is the masking writer Redactor.Writer returns.
type RedactWriter = redact.Writer

// Mask replaces every secret in redacted output.
const Mask = redact.Mask

// NewRedactor returns an empty Redactor (redact.New).
func NewRedactor() *Redactor { return redact.New() }

// addGuessed registers with r a value that is secret only because of the name it is stored under
// (GITHUB_TOKEN, db_password): values shorter than minGuessed and boolean words are left out,
// since a name such as USE_KEYRING=1 would otherwise mask every "1" in the output.
func addGuessed(r *Redactor, s string) {
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
