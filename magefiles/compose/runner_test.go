package compose_test

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/docker/compose/v5/pkg/api"
	"github.com/moby/moby/api/types/container"

	"github.com/shiplane/shiplane/magefiles/compose"
	"github.com/shiplane/shiplane/magefiles/compose/composetest"
)

func fakeRunner(t *testing.T, e *composetest.Engine, c *composetest.Composer, opts ...compose.Option) *compose.Runner {
	t.Helper()
	r, err := compose.New(t.Context(), append([]compose.Option{compose.WithEngine(e), compose.WithComposer(c)}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func stackProject(t *testing.T) *compose.Project {
	return load(t, stack, []string{"core.yaml", "worker.yaml"}, compose.WithGetenv(env("IMAGE_TAG", "t1")))
}

func TestComposeUpRefusesMissingImages(t *testing.T) {
	e := composetest.NewEngine("example/core:t1")
	c := &composetest.Composer{}
	err := fakeRunner(t, e, c).Up(context.Background(), stackProject(t))
	var missing *compose.MissingImageError
	if !errors.As(err, &missing) {
		t.Fatalf("Up = %v, want *MissingImageError", err)
	}
	want := []compose.Image{{Service: "worker", Ref: "example/worker:t1"}, {Service: "alpha", Ref: "example/alpha:1"}}
	if len(missing.Images) != 2 || missing.Images[0] != want[0] || missing.Images[1] != want[1] {
		t.Errorf("missing = %v, want %v", missing.Images, want)
	}
	for _, s := range []string{"example/worker:t1", "example/alpha:1", "run: go run mage.go buildAllLocal"} {
		if !strings.Contains(err.Error(), s) {
			t.Errorf("error %q does not mention %q", err, s)
		}
	}
	if len(c.Ups) != 0 || len(e.Created) != 0 {
		t.Errorf("Up acted despite missing images: ups=%d networks=%v", len(c.Ups), e.Created)
	}
}

func TestComposeUpCreatesSharedNetworkOnceAndWaits(t *testing.T) {
	e := composetest.NewEngine("example/core:t1", "example/worker:t1", "example/alpha:1")
	c := &composetest.Composer{}
	var progress bytes.Buffer
	r := fakeRunner(t, e, c, compose.WithWaitTimeout(7*time.Second), compose.WithProgress(&progress))
	p := stackProject(t)
	for range 2 {
		if err := r.Up(context.Background(), p); err != nil {
			t.Fatalf("Up: %v", err)
		}
	}
	if len(e.Created) != 1 || e.Created[0] != "shared-net" {
		t.Errorf("created networks = %v, want shared-net once", e.Created)
	}
	if e.Networks["shared-net"].Labels[compose.SharedNetworkLabel] != "true" {
		t.Errorf("shared network labels = %v", e.Networks["shared-net"].Labels)
	}
	if !strings.Contains(progress.String(), "shared-net") {
		t.Errorf("progress %q does not report the network", progress.String())
	}
	if len(c.Ups) != 2 {
		t.Fatalf("composer ups = %d, want 2", len(c.Ups))
	}
	o := c.Ups[0].Options
	if !o.Start.Wait || o.Start.WaitTimeout != 7*time.Second || o.Start.Project != p.Project || o.Start.Attach != nil {
		t.Errorf("start options = %+v, want detached, waiting 7s", o.Start)
	}
	if !o.Create.RemoveOrphans || o.Create.Recreate != api.RecreateDiverged || o.Create.Build != nil {
		t.Errorf("create options = %+v", o.Create)
	}
}

func TestComposeUpNamesUnhealthyService(t *testing.T) {
	e := composetest.NewEngine("example/core:t1", "example/worker:t1", "example/alpha:1")
	p := stackProject(t)
	labels := func(svc string) *container.Config {
		return &container.Config{Labels: map[string]string{api.ProjectLabel: p.Name, api.ServiceLabel: svc, api.OneoffLabel: "False"}}
	}
	e.Containers = []container.InspectResponse{
		{ID: "1", Name: "/fromyaml-core-1", Config: labels("core"), State: &container.State{Status: container.StateRunning, Running: true,
			Health: &container.Health{Status: container.Healthy}}},
		{ID: "2", Name: "/fromyaml-worker-1", Config: labels("worker"), State: &container.State{Status: container.StateRunning, Running: true,
			Health: &container.Health{Status: container.Unhealthy, Log: []*container.HealthcheckResult{{ExitCode: 1, Output: "healthcheck: unhealthy: 503\n"}}}}},
		{ID: "3", Name: "/fromyaml-alpha-1", Config: labels("alpha"), State: &container.State{Status: container.StateExited, ExitCode: 2}},
		{ID: "5", Name: "/fromyaml-late-1", Config: labels("late"), State: &container.State{Status: container.StateCreated}},
		{ID: "4", Name: "/other-core-1", Config: &container.Config{Labels: map[string]string{api.ProjectLabel: "other", api.ServiceLabel: "core"}},
			State: &container.State{Status: container.StateExited}},
	}
	sdkErr := errors.New("application not healthy after 5s")
	c := &composetest.Composer{UpErr: sdkErr}
	err := fakeRunner(t, e, c, compose.WithWaitTimeout(5*time.Second)).Up(context.Background(), p)
	var unhealthy *compose.UnhealthyError
	if !errors.As(err, &unhealthy) {
		t.Fatalf("Up = %v, want *UnhealthyError", err)
	}
	if !errors.Is(err, sdkErr) {
		t.Errorf("error does not wrap the SDK's")
	}
	if len(unhealthy.Containers) != 3 || unhealthy.Containers[0].Service != "alpha" || unhealthy.Containers[1].Service != "late" ||
		unhealthy.Containers[2].Service != "worker" {
		t.Fatalf("unhealthy = %+v, want alpha, late and worker", unhealthy.Containers)
	}
	for _, s := range []string{"service worker is not healthy", "unhealthy: healthcheck: unhealthy: 503", "docker logs fromyaml-worker-1",
		"docker logs fromyaml-alpha-1", "exit code 2", "5s", "not started, waiting on them: late"} {
		if !strings.Contains(err.Error(), s) {
			t.Errorf("error %q does not mention %q", err, s)
		}
	}
	if strings.Contains(err.Error(), "core") || strings.Contains(err.Error(), "docker logs fromyaml-late-1") {
		t.Errorf("error %q names a healthy, foreign or never started container", err)
	}
}

func TestComposeUpReportsOtherFailures(t *testing.T) {
	e := composetest.NewEngine("example/core:t1", "example/worker:t1", "example/alpha:1")
	sdkErr := errors.New("port is already allocated")
	err := fakeRunner(t, e, &composetest.Composer{UpErr: sdkErr}).Up(context.Background(), stackProject(t))
	var unhealthy *compose.UnhealthyError
	if !errors.Is(err, sdkErr) || errors.As(err, &unhealthy) {
		t.Errorf("Up = %v, want the SDK error wrapped, no containers to blame", err)
	}
}

func TestComposeDownRemovesVolumesAndOrphans(t *testing.T) {
	e := composetest.NewEngine()
	c := &composetest.Composer{}
	p := stackProject(t)
	if err := fakeRunner(t, e, c).Down(context.Background(), p); err != nil {
		t.Fatal(err)
	}
	if len(c.Downs) != 1 {
		t.Fatalf("downs = %d", len(c.Downs))
	}
	d := c.Downs[0]
	if d.Project != p.Name || !d.Options.Volumes || !d.Options.RemoveOrphans || d.Options.Images != "" || d.Options.Project != p.Project {
		t.Errorf("down = %+v", d)
	}
	if len(e.Created) != 0 {
		t.Errorf("down created networks %v", e.Created)
	}
}

func TestComposeNewRejectsABadDockerHost(t *testing.T) {
	_, err := compose.New(t.Context(), compose.WithDockerHost("bogus://nowhere"))
	if err == nil || !strings.Contains(err.Error(), "DOCKER_HOST") {
		t.Fatalf("New = %v, want an error about the daemon's address", err)
	}
}

func TestComposeUpWithoutDaemonFailsFast(t *testing.T) {
	sock := "unix://" + t.TempDir() + "/absent.sock"
	r, err := compose.New(t.Context(), compose.WithDockerHost(sock))
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	start := time.Now()
	err = r.Up(t.Context(), stackProject(t))
	if err == nil || !strings.Contains(err.Error(), "absent.sock") {
		t.Errorf("Up = %v, want an error naming the socket", err)
	}
	if d := time.Since(start); d > 10*time.Second {
		t.Errorf("Up took %s without a daemon", d)
	}
}
