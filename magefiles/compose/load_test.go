package compose_test

import (
	"context"
	"os"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/docker/compose/v5/pkg/api"

	"github.com/shiplane/shiplane/magefiles/compose"
)

const stack = "testdata/stack"

// env is a getenv over a fixed map, so tests never depend on the process environment.
func env(kv ...string) func(string) string {
	m := map[string]string{}
	for i := 0; i+1 < len(kv); i += 2 {
		m[kv[i]] = kv[i+1]
	}
	return func(k string) string { return m[k] }
}

func load(t *testing.T, dir string, files []string, opts ...compose.LoadOption) *compose.Project {
	t.Helper()
	p, err := compose.Load(context.Background(), dir, files, opts...)
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	return p
}

func TestComposeLoadLayersFilesInOrder(t *testing.T) {
	p := load(t, stack, []string{"core.yaml", "worker.yaml"}, compose.WithGetenv(env()))
	if want := []string{"core", "worker", "alpha"}; !reflect.DeepEqual(p.Order, want) {
		t.Errorf("Order = %v, want %v (file order, then declaration order)", p.Order, want)
	}
	if _, ok := p.Services["core"].Environment["EXTRA_URL"]; ok {
		t.Errorf("core has EXTRA_URL without extra.yaml layered")
	}
	if want := []string{"core http://127.0.0.1:18080", "worker http://127.0.0.2:18081"}; !reflect.DeepEqual(endpoints(p), want) {
		t.Errorf("endpoints = %v, want %v", endpoints(p), want)
	}

	p = load(t, stack, []string{"core.yaml", "worker.yaml", "extra.yaml"}, compose.WithGetenv(env()))
	if want := []string{"core", "worker", "alpha", "extra"}; !reflect.DeepEqual(p.Order, want) {
		t.Errorf("Order = %v, want %v", p.Order, want)
	}
	core := p.Services["core"]
	if v := core.Environment["EXTRA_URL"]; v == nil || *v != "http://extra:9000" {
		t.Errorf("core EXTRA_URL = %v, want the value layered by extra.yaml", v)
	}
	if v := core.Environment["PORT"]; v == nil || *v != "8080" {
		t.Errorf("core PORT = %v, want 8080 kept from core.yaml", v)
	}
	if _, ok := core.DependsOn["extra"]; !ok {
		t.Errorf("core.depends_on = %v, want extra added by the later file", core.DependsOn)
	}
	if len(core.Ports) != 1 {
		t.Errorf("core ports = %v, want the one port of core.yaml", core.Ports)
	}
	for _, name := range p.Order {
		s := p.Services[name]
		if s.CustomLabels[api.ProjectLabel] != p.Name || s.CustomLabels[api.ServiceLabel] != name {
			t.Errorf("service %s labels = %v, want the compose project and service labels", name, s.CustomLabels)
		}
	}
}

func TestComposeLoadInterpolation(t *testing.T) {
	dir, err := filepath.Abs(stack)
	if err != nil {
		t.Fatal(err)
	}
	files := []string{"core.yaml", "worker.yaml"}

	// .env supplies defaults; ${VAR:-default} applies where neither sets a value.
	p := load(t, stack, files, compose.WithGetenv(env()))
	if got := p.Services["core"].Image; got != "example/core:fromdotenv" {
		t.Errorf("core image = %q, want the .env IMAGE_TAG", got)
	}
	if got := *p.Services["core"].Environment["GREETING"]; got != "hello" {
		t.Errorf("GREETING = %q, want the ${:-} default", got)
	}
	if got := p.Services["worker"].Volumes[0].Source; got != filepath.Join(dir, ".inbox") {
		t.Errorf("worker inbox = %q, want ./.inbox resolved against the compose directory", got)
	}
	if got := p.SharedNetworks(); !reflect.DeepEqual(got, []string{"shared-net"}) {
		t.Errorf("SharedNetworks = %v, want [shared-net]", got)
	}

	// The process environment overrides .env and defaults.
	inbox := t.TempDir()
	p = load(t, stack, files, compose.WithGetenv(env(
		"IMAGE_TAG", "fromenv", "CORE_PORT", "19999", "GREETING", "hi", "INBOX", inbox, "SHARED_NETWORK", "other-net")))
	if got := p.Services["core"].Image; got != "example/core:fromenv" {
		t.Errorf("core image = %q, want the environment's IMAGE_TAG", got)
	}
	if got := endpoints(p); !reflect.DeepEqual(got, []string{"core http://127.0.0.1:19999", "worker http://127.0.0.2:18081"}) {
		t.Errorf("endpoints = %v", got)
	}
	if got := *p.Services["core"].Environment["GREETING"]; got != "hi" {
		t.Errorf("GREETING = %q, want hi", got)
	}
	if got := p.Services["worker"].Volumes[0].Source; got != inbox {
		t.Errorf("worker inbox = %q, want %q", got, inbox)
	}
	if got := p.SharedNetworks(); !reflect.DeepEqual(got, []string{"other-net"}) {
		t.Errorf("SharedNetworks = %v, want [other-net]", got)
	}
	want := []compose.Image{
		{Service: "core", Ref: "example/core:fromenv"},
		{Service: "worker", Ref: "example/worker:fromenv"},
		{Service: "alpha", Ref: "example/alpha:1"},
	}
	if got := p.Images(); !reflect.DeepEqual(got, want) {
		t.Errorf("Images = %v, want %v", got, want)
	}

	// Without a .env file only the environment and the defaults count.
	bare := t.TempDir()
	for _, f := range files {
		data, err := os.ReadFile(filepath.Join(stack, f))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(bare, f), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	p = load(t, bare, files, compose.WithGetenv(env()))
	if got := p.Services["core"].Image; got != "example/core:latest" {
		t.Errorf("core image = %q, want the ${:-latest} default", got)
	}
}

func TestComposeLoadProjectName(t *testing.T) {
	files := []string{"core.yaml"}
	tests := []struct {
		name string
		opts []compose.LoadOption
		want string
	}{
		{"name in the files", []compose.LoadOption{compose.WithGetenv(env()), compose.WithDefaultName("dflt")}, "fromyaml"},
		{"environment", []compose.LoadOption{compose.WithGetenv(env("COMPOSE_PROJECT_NAME", "fromenv")), compose.WithDefaultName("dflt")}, "fromenv"},
		{"explicit", []compose.LoadOption{compose.WithGetenv(env("COMPOSE_PROJECT_NAME", "fromenv")), compose.WithName("explicit")}, "explicit"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := load(t, stack, files, tt.opts...).Name; got != tt.want {
				t.Errorf("Name = %q, want %q", got, tt.want)
			}
		})
	}
	// A file without name: falls back to the default, then to the directory.
	if got := load(t, stack, []string{"unnamed.yaml"}, compose.WithGetenv(env()), compose.WithDefaultName("dflt")).Name; got != "dflt" {
		t.Errorf("Name = %q, want the default", got)
	}
	if got := load(t, stack, []string{"unnamed.yaml"}, compose.WithGetenv(env())).Name; got != "stack" {
		t.Errorf("Name = %q, want the directory's name", got)
	}
}

func TestComposeLoadErrors(t *testing.T) {
	if _, err := compose.Load(context.Background(), stack, nil); err == nil {
		t.Error("Load without files succeeded")
	}
	if _, err := compose.Load(context.Background(), stack, []string{"absent.yaml"}); err == nil {
		t.Error("Load of a missing file succeeded")
	}
}

// TestLoadRepositoryFiles loads the repository's own compose files the way the local lane layers
// them, so a broken file fails here rather than at composeUpLocal.
func TestComposeLoadRepositoryFiles(t *testing.T) {
	dir := filepath.Join("..", "..", "compose")
	files := []string{"core.yaml", "web.yaml", "connector-fs.yaml", "connector-webhook.yaml", "scanner.yaml"}
	p := load(t, dir, files, compose.WithGetenv(env("COMPOSE_PROJECT_NAME", "repo-check")))
	if want := []string{"core", "web", "connector-fs", "connector-webhook", "scanner"}; !reflect.DeepEqual(p.Order, want) {
		t.Errorf("Order = %v, want %v", p.Order, want)
	}
	for _, im := range p.Images() {
		if s := p.Services[im.Service]; s.PullPolicy != "never" && s.PullPolicy != "build" {
			t.Errorf("service %s pull_policy = %q, want never or build", im.Service, s.PullPolicy)
		}
	}
	if len(p.SharedNetworks()) == 0 {
		t.Errorf("the repository's compose files use no shared network")
	}
}

func endpoints(p *compose.Project) []string {
	var out []string
	for _, e := range p.Endpoints() {
		out = append(out, e.Service+" "+e.URL)
	}
	return out
}
