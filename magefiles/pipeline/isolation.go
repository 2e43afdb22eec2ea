package pipeline

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"

	"github.com/shiplane/shiplane/magefiles/redact"
)

// credentialNames are the variables that hold publishing credentials, or say where they are,
// kept out of a goal's environment with every variable whose name looks secret (redact.LooksSecret).
// DOCKER_CONFIG and HELM_REGISTRY_CONFIG are then set to an empty place of the goal's own, so
// neither Docker nor Helm falls back to the user's configuration. SSH_AUTH_SOCK lets a command
// push to a git remote as the user.
var credentialNames = []string{
	"GITHUB_TOKEN", "GH_TOKEN", "REGISTRY_PASSWORD", "DOCKER_PASSWORD",
	"DOCKER_CONFIG", "DOCKER_AUTH_CONFIG", "HELM_REGISTRY_CONFIG", "REGISTRY_AUTH_FILE", "SSH_AUTH_SOCK",
}

// isCredential reports whether a goal runs without the variable name unless its env: sets it:
// a publishing credential, a name that looks secret, or one of declared (names the release file
// reads as secret!env!NAME).
func isCredential(name string, declared map[string]bool) bool {
	return slices.Contains(credentialNames, name) || redact.LooksSecret(name) || declared[name]
}

// withoutCredentials returns environ without the variables isCredential names.
func withoutCredentials(environ []string, declared map[string]bool) []string {
	out := make([]string, 0, len(environ))
	for _, kv := range environ {
		if k, _, _ := strings.Cut(kv, "="); !isCredential(k, declared) {
			out = append(out, kv)
		}
	}
	return out
}

// isolation is the configuration directory a goal's commands get instead of the user's: made
// empty when the goal's Achieve starts, removed when it returns.
type isolation struct {
	mu  sync.Mutex
	dir string // "" outside Achieve
}

// environ returns the variables that point Docker and Helm at the goal's own empty configuration:
// DOCKER_CONFIG is an empty directory and HELM_REGISTRY_CONFIG a file not yet written in another.
// Outside Achieve, where a kind starts no command, they name os.DevNull, where no configuration
// can be found.
func (iso *isolation) environ() []string {
	iso.mu.Lock()
	dir := iso.dir
	iso.mu.Unlock()
	if dir == "" {
		return []string{"DOCKER_CONFIG=" + os.DevNull, "HELM_REGISTRY_CONFIG=" + os.DevNull}
	}
	return []string{"DOCKER_CONFIG=" + filepath.Join(dir, "docker"), "HELM_REGISTRY_CONFIG=" + filepath.Join(dir, "helm", "registry.json")}
}

// begin makes the empty directories for one Achieve; end removes them, with anything the goal
// wrote there (a docker login's credentials).
func (iso *isolation) begin() (end func() error, err error) {
	dir, err := os.MkdirTemp("", "shiplane-goal-")
	if err != nil {
		return nil, fmt.Errorf("making the goal's empty Docker config: %w", err)
	}
	for _, sub := range []string{"docker", "helm"} {
		if err := os.Mkdir(filepath.Join(dir, sub), 0o700); err != nil {
			os.RemoveAll(dir)
			return nil, fmt.Errorf("making the goal's empty Docker config: %w", err)
		}
	}
	iso.mu.Lock()
	iso.dir = dir
	iso.mu.Unlock()
	return func() error {
		iso.mu.Lock()
		iso.dir = ""
		iso.mu.Unlock()
		if err := os.RemoveAll(dir); err != nil {
			return fmt.Errorf("removing the goal's Docker config %s: %w", dir, err)
		}
		return nil
	}, nil
}
