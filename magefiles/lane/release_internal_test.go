package lane

import "testing"

func TestPrereleaseFollowsTheRootVersion(t *testing.T) {
	for v, want := range map[string]bool{"1.3.0": false, "1.3.0-rc.1": true, "2.0.0-alpha": true, "1.3.0+build.5": false, "not-a-version": false} {
		if got := prerelease(v); got != want {
			t.Errorf("prerelease(%q) = %v, want %v", v, got, want)
		}
	}
}
