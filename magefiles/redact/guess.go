package redact

import "strings"

// LooksSecret reports whether a name (an environment variable, a var, an env key) says its value
// is a secret. Case aside, a name looks secret when
//
//   - it contains TOKEN, PASSWORD, PASSWD, PASSPHRASE, SECRET, CREDENTIAL or PRIVATE
//     (GITHUB_TOKEN, DB_PASSWORD, GPG_PRIVATE);
//   - one of its words (split at "_", "-" and ".") is or ends with KEY, PASS, PWD or AUTH
//     (API_KEY, APIKEY, DB_PASS, SSHPASS, MYSQL_PWD, NPM_AUTH, OAUTH_ID);
//   - one of its words is PAT (GITHUB_PAT).
//
// Exempt are the shell's PWD and OLDPWD, SSH_AUTH_SOCK (a socket's path) and the words ASKPASS
// (GIT_ASKPASS names a program) and BYPASS (a flag). Words that only begin with these letters
// (PATH, PATTERN, AUTHOR, PASSTHROUGH) are ordinary.
//
// It is a safety net for values nobody declared: register what you know is secret with Add, and
// what is secret only because of its name with AddGuessed.
func LooksSecret(name string) bool {
	u := strings.ToUpper(name)
	switch u {
	case "PWD", "OLDPWD", "SSH_AUTH_SOCK":
		return false
	}
	for _, s := range []string{"TOKEN", "PASSWORD", "PASSWD", "PASSPHRASE", "SECRET", "CREDENTIAL", "PRIVATE"} {
		if strings.Contains(u, s) {
			return true
		}
	}
	for _, w := range strings.FieldsFunc(u, func(c rune) bool { return c == '_' || c == '-' || c == '.' }) {
		switch w {
		case "PAT":
			return true
		case "ASKPASS", "BYPASS":
			continue
		}
		for _, end := range []string{"KEY", "PASS", "PWD", "AUTH"} {
			if strings.HasSuffix(w, end) {
				return true
			}
		}
	}
	return false
}

// minGuessed is the length, spaces around it aside, below which AddGuessed leaves a value out.
const minGuessed = 4

// AddGuessed registers values that are secret only because of the name they are stored under
// (GITHUB_TOKEN, db_password; see LooksSecret). Values shorter than four characters (spaces
// around them aside) and boolean words (true, false, yes, no, on, off) are left out, since a name
// such as USE_KEYRING=1 would otherwise mask every "1" in the output. A guessed secret's derived
// forms (base64, see Redactor) are hidden from eight characters rather than four; Add makes a
// guessed secret declared. Use Has to learn whether a value was registered.
func (r *Redactor) AddGuessed(values ...string) {
	var keep []string
	for _, s := range values {
		t := strings.TrimSpace(s)
		if len(t) < minGuessed {
			continue
		}
		switch strings.ToLower(t) {
		case "true", "false", "yes", "no", "on", "off":
			continue
		}
		keep = append(keep, s)
	}
	r.add(guessed, keep)
}
