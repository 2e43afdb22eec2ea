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
