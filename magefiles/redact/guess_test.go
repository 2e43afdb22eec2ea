package redact_test

import (
	"testing"

	"github.com/shiplane/shiplane/magefiles/redact"
)

func TestLooksSecret(t *testing.T) {
	for name, want := range map[string]bool{
		"GITHUB_TOKEN": true, "github_token": true, "DB_PASSWORD": true, "api_key": true, "APIKEY": true,
		"SSH-PRIVATE-KEY": true, "client.secret": true, "GPG_PASSPHRASE": true, "AWS_CREDENTIALS": true,
		"PATH": false, "HOME": false, "KEYBOARD": false, "GOFLAGS": false, "KEY_ID": true, "version": false,
	} {
		if got := redact.LooksSecret(name); got != want {
			t.Errorf("LooksSecret(%q) = %v, want %v", name, got, want)
		}
	}
}

// TestLooksSecretPassPwdAuthPat: PRIVATE anywhere in a name, a word that is or ends in PASS, PWD
// or AUTH, and a word that is PAT say a value is secret; the shell's PWD and OLDPWD, programs
// (GIT_ASKPASS), flags (CACHE_BYPASS), SSH_AUTH_SOCK (a socket's path) and words that only begin
// with those letters (PATH, PATTERN, AUTHOR, PASSTHROUGH) do not.
func TestLooksSecretPassPwdAuthPat(t *testing.T) {
	for _, c := range []struct {
		name string
		want bool
	}{
		{"DB_PASS", true}, {"MYSQL_PWD", true}, {"NPM_AUTH", true}, {"GITHUB_PAT", true}, {"GPG_PRIVATE", true},
		{"OAUTH_ID", true}, // OAUTH ends in AUTH: an OAuth client's identity goes with its secret
		{"SSHPASS", true}, {"rabbitmq.default.pass", true}, {"ftp-pwd", true}, {"NPM_CONFIG__AUTH", true},
		{"gh_pat", true}, {"PAT", true}, {"AUTH", true}, {"PASS", true}, {"GPGPRIVATEARMOR", true},
		{"PRIVATE_REGISTRY", true}, // PRIVATE matches anywhere, even where it names no secret

		{"PATH", false}, {"PWD", false}, {"OLDPWD", false}, {"AUTHOR_NAME", false}, {"PATTERN", false},
		{"PASSTHROUGH", false}, {"GITHUB_PATH", false}, {"PYTHONPATH", false}, {"PATCH_LEVEL", false},
		{"GIT_AUTHOR_EMAIL", false}, {"AUTHORS", false}, {"TOX_TESTENV_PASSENV", false}, {"PASSENGER_ENV", false},
		{"GIT_ASKPASS", false}, {"SSH_ASKPASS", false}, {"CACHE_BYPASS", false}, {"SSH_AUTH_SOCK", false},
		{"pwd", false}, {"oldpwd", false}, {"SPATIAL", false}, {"COMPAT", false}, {"PWDX_DIR", false},
	} {
		if got := redact.LooksSecret(c.name); got != c.want {
			t.Errorf("LooksSecret(%q) = %v, want %v", c.name, got, c.want)
		}
	}
}

func TestGuessedSecretsSkipNoise(t *testing.T) {
	r := redact.New()
	r.AddGuessed("1", "abc", " ab ", "true", "Off", "yes")
	r.AddGuessed("real-value")
	if r.Len() != 1 || !r.Has("real-value") {
		t.Fatalf("registered %d", r.Len())
	}
	var nilRed *redact.Redactor
	nilRed.AddGuessed("real-value") // no panic
}
