package settings

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// TestRevertWindow: revert_window defaults to an hour, reads a Go duration, and refuses anything
// else with the file, the line and the fix.
func TestRevertWindow(t *testing.T) {
	dir := t.TempDir()
	if s, err := Load(dir, DefaultFile, func(string) string { return "" }); err != nil || s.RevertWindow.Duration != time.Hour {
		t.Fatalf("no settings file: window %v, %v; want 1h", s.RevertWindow, err)
	}
	os.MkdirAll(filepath.Join(dir, "deploy"), 0o755)
	write := func(content string) (Settings, error) {
		os.WriteFile(filepath.Join(dir, DefaultFile), []byte(content), 0o644)
		return Load(dir, DefaultFile, func(string) string { return "" })
	}
	if s, err := write("release:\n  registry: r.example/rel\n"); err != nil || s.RevertWindow.Duration != time.Hour {
		t.Errorf("no revert_window: %v, %v; want 1h", s.RevertWindow, err)
	}
	if s, err := write("revert_window: 90m\n"); err != nil || s.RevertWindow.Duration != 90*time.Minute {
		t.Errorf("revert_window: 90m: %v, %v", s.RevertWindow, err)
	}
	for _, tc := range []struct{ yaml, want string }{
		{"dev:\n  registry: x\nrevert_window: an hour\n", `deploy/settings.yaml:3: revert_window "an hour" is not a duration; fix: write a Go duration greater than zero, such as 1h or 30m (default 1h)`},
		{"revert_window: 0s\n", `deploy/settings.yaml:1: revert_window "0s" is not greater than zero; fix: write a Go duration greater than zero, such as 1h or 30m (default 1h)`},
		{"revert_window: -5m\n", `deploy/settings.yaml:1: revert_window "-5m" is not greater than zero; fix: write a Go duration greater than zero, such as 1h or 30m (default 1h)`},
		{"revert_window: [1h]\n", `deploy/settings.yaml:1: revert_window "" is not a single value; fix: write a Go duration greater than zero, such as 1h or 30m (default 1h)`},
	} {
		_, err := write(tc.yaml)
		var we *WindowError
		if !errors.As(err, &we) || err.Error() != tc.want {
			t.Errorf("%q:\n got %v\nwant %s", tc.yaml, err, tc.want)
		}
	}
}
