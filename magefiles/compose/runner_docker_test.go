package compose_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/docker/compose/v5/pkg/api"
	"github.com/moby/moby/client"

	"github.com/shiplane/shiplane/magefiles/compose"
	"github.com/shiplane/shiplane/magefiles/testenv"
)

// oneService is a project of one core container on its own shared network, so these tests never
// meet the platform's projects.
const oneService = `
services:
  api:
    image: shiplane/core:latest
    pull_policy: never
    environment:
      PORT: "8080"
    healthcheck:
      test: ["CMD", "/usr/local/bin/healthcheck", "${PROBE_URL:-http://127.0.0.1:8080/healthz}"]
      interval: ${PROBE_INTERVAL:-1s}
      timeout: 2s
      retries: 2
      start_period: ${PROBE_INTERVAL:-1s}
    networks: [shared]
  sidecar:
    image: shiplane/core:latest
    pull_policy: never
    healthcheck:
      disable: true
    depends_on:
      api:
        condition: service_healthy
    networks: [shared]

networks:
  shared:
    external: true
    name: ${NET}
`

type dockerStack struct {
	project, network string
	dir              string
	docker           *client.Client
	runner           *compose.Runner
	progress         *bytes.Buffer
}

func newDockerStack(t *testing.T, opts ...compose.Option) *dockerStack {
	t.Helper()
	testenv.PlatformImages(t)
	id := rand.Uint32()
	s := &dockerStack{
		project:  fmt.Sprintf("sltest-compose-%d", id),
		network:  fmt.Sprintf("sltest-net-%d", id),
		dir:      t.TempDir(),
		progress: &bytes.Buffer{},
	}
	if err := os.WriteFile(filepath.Join(s.dir, "compose.yaml"), []byte(oneService), 0o644); err != nil {
		t.Fatal(err)
	}
	c, err := client.New(client.FromEnv)
	if err != nil {
		t.Fatal(err)
	}
	s.docker = c
	r, err := compose.New(t.Context(), append([]compose.Option{compose.WithProgress(s.progress)}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	s.runner = r
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.WithoutCancel(t.Context()), 2*time.Minute)
		defer cancel()
		if p, err := compose.Load(ctx, s.dir, []string{"compose.yaml"}, compose.WithGetenv(s.getenv(nil))); err == nil {
			if err := r.Down(ctx, p); err != nil {
				t.Errorf("down: %v", err)
			}
		}
		if _, err := c.NetworkRemove(ctx, s.network, client.NetworkRemoveOptions{}); err != nil {
			t.Logf("removing network %s: %v", s.network, err)
		}
		r.Close()
		c.Close()
		t.Logf("progress:\n%s", s.progress)
	})
	return s
}

func (s *dockerStack) getenv(extra map[string]string) func(string) string {
	return func(k string) string {
		switch k {
		case "COMPOSE_PROJECT_NAME":
			return s.project
		case "NET":
			return s.network
		}
		if v, ok := extra[k]; ok {
			return v
		}
		return os.Getenv(k)
	}
}

func (s *dockerStack) load(t *testing.T, extra map[string]string) *compose.Project {
	t.Helper()
	p, err := compose.Load(t.Context(), s.dir, []string{"compose.yaml"}, compose.WithGetenv(s.getenv(extra)))
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func (s *dockerStack) containerIDs(t *testing.T) map[string]string {
	t.Helper()
	list, err := s.docker.ContainerList(t.Context(), client.ContainerListOptions{
		All: true, Filters: make(client.Filters).Add("label", api.ProjectLabel+"="+s.project)})
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for _, c := range list.Items {
		out[c.Labels[api.ServiceLabel]] = c.ID
	}
	return out
}

func TestComposeRunnerUpCreatesNetworkAndIsIdempotent(t *testing.T) {
	s := newDockerStack(t)
	p := s.load(t, nil)
	start := time.Now()
	if err := s.runner.Up(t.Context(), p); err != nil {
		t.Fatalf("Up: %v", err)
	}
	t.Logf("first up in %s", time.Since(start).Round(time.Millisecond))
	net, err := s.docker.NetworkInspect(t.Context(), s.network, client.NetworkInspectOptions{})
	if err != nil {
		t.Fatalf("shared network not created: %v", err)
	}
	if net.Network.Labels[compose.SharedNetworkLabel] != "true" {
		t.Errorf("network labels = %v", net.Network.Labels)
	}
	first := s.containerIDs(t)
	if len(first) != 2 {
		t.Fatalf("containers = %v, want api and sidecar", first)
	}

	// A second up with nothing changed leaves the containers alone.
	start = time.Now()
	if err := s.runner.Up(t.Context(), s.load(t, nil)); err != nil {
		t.Fatalf("second Up: %v", err)
	}
	t.Logf("second up in %s", time.Since(start).Round(time.Millisecond))
	if second := s.containerIDs(t); fmt.Sprint(second) != fmt.Sprint(first) {
		t.Errorf("second up replaced containers: %v, then %v", first, second)
	}

	if err := s.runner.Down(t.Context(), p); err != nil {
		t.Fatalf("Down: %v", err)
	}
	if left := s.containerIDs(t); len(left) != 0 {
		t.Errorf("containers left after down: %v", left)
	}
	if _, err := s.docker.NetworkInspect(t.Context(), s.network, client.NetworkInspectOptions{}); err != nil {
		t.Errorf("down removed the shared network: %v", err)
	}
}

func TestComposeRunnerUpNamesTheUnhealthyService(t *testing.T) {
	s := newDockerStack(t, compose.WithWaitTimeout(60*time.Second))
	p := s.load(t, map[string]string{"PROBE_URL": "http://127.0.0.1:1/healthz"})
	start := time.Now()
	err := s.runner.Up(t.Context(), p)
	t.Logf("failed up in %s: %v", time.Since(start).Round(time.Millisecond), err)
	var unhealthy *compose.UnhealthyError
	if !errors.As(err, &unhealthy) {
		t.Fatalf("Up = %v, want *UnhealthyError", err)
	}
	apiName := s.project + "-api-1"
	for _, want := range []string{"service api is not healthy", "unhealthy", "docker logs " + apiName, "waiting on them: sidecar"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not say %q", err, want)
		}
	}
}

func TestComposeRunnerUpWaitIsBounded(t *testing.T) {
	s := newDockerStack(t, compose.WithWaitTimeout(4*time.Second))
	// The first probe runs an hour from now: the service stays "starting".
	p := s.load(t, map[string]string{"PROBE_INTERVAL": "1h"})
	start := time.Now()
	err := s.runner.Up(t.Context(), p)
	took := time.Since(start)
	t.Logf("failed up in %s: %v", took.Round(time.Millisecond), err)
	var unhealthy *compose.UnhealthyError
	if !errors.As(err, &unhealthy) {
		t.Fatalf("Up = %v, want *UnhealthyError", err)
	}
	if took > 30*time.Second {
		t.Errorf("Up took %s with a 4s wait bound", took)
	}
	for _, want := range []string{"waiting up to 4s", "service api is not healthy", "running, starting", "docker logs " + s.project + "-api-1"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not say %q", err, want)
		}
	}
}
