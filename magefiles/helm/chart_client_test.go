package helm_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/shiplane/shiplane/magefiles/helm"
	"github.com/shiplane/shiplane/magefiles/published"
	"github.com/shiplane/shiplane/magefiles/registry/registrytest"
)

func packageCore(t *testing.T) *helm.Package {
	t.Helper()
	p, err := helm.PackageChart(context.Background(), filepath.Join(copyCharts(t, false), "core"),
		stampFor("core", commitTime), helm.WithOutputDir(t.TempDir()))
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func wantUnknown(t *testing.T, what string, err error) {
	t.Helper()
	var ue *published.UnknownError
	if !errors.Is(err, published.ErrUnknown) || !errors.As(err, &ue) {
		t.Errorf("%s: got %v, want an error wrapping published.ErrUnknown", what, err)
		return
	}
	t.Logf("%s: %v", what, err)
}

func TestChartAbsent(t *testing.T) {
	isolateCredentials(t)
	reg := registrytest.New(t)
	c, err := helm.NewClient()
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	p := packageCore(t)
	repo := "oci://" + reg.Host() + "/charts"
	if _, err := c.Push(ctx, p, repo); err != nil {
		t.Fatal(err)
	}
	for _, q := range [][2]string{{"core", "9.9.9"}, {"nothing-here", "1.0.0"}} {
		got, err := c.Chart(ctx, repo, q[0], q[1])
		if err != nil || got.Present {
			t.Errorf("Chart(%s %s) = %+v, %v; want absent", q[0], q[1], got, err)
		}
	}
	if _, err := c.PullChart(ctx, repo, "core", "9.9.9"); !errors.Is(err, helm.ErrChartNotFound) {
		t.Errorf("PullChart of a missing version: %v", err)
	}
}

func TestUnknownAnswers(t *testing.T) {
	isolateCredentials(t)
	ctx := context.Background()
	p := packageCore(t)
	noRetry, err := helm.NewClient(helm.WithTransport(http.DefaultTransport.(*http.Transport).Clone()))
	if err != nil {
		t.Fatal(err)
	}

	t.Run("500", func(t *testing.T) {
		reg := registrytest.New(t, registrytest.WithMiddleware(registrytest.FailFirst("", "/manifests/", -1, http.StatusInternalServerError)))
		repo := "oci://" + reg.Host() + "/charts"
		_, err := noRetry.Chart(ctx, repo, "core", "1.2.0")
		wantUnknown(t, "Chart", err)
		_, err = noRetry.Push(ctx, p, repo)
		wantUnknown(t, "Push", err)
		if reg.Writes() != 0 {
			t.Errorf("a push that could not check wrote:\n%s", reg.Dump())
		}
	})

	t.Run("503 until the deadline, default retrying transport", func(t *testing.T) {
		reg := registrytest.New(t, registrytest.WithMiddleware(registrytest.FailFirst("", "/manifests/", -1, http.StatusServiceUnavailable)))
		c, err := helm.NewClient()
		if err != nil {
			t.Fatal(err)
		}
		tctx, cancel := context.WithTimeout(ctx, 1500*time.Millisecond)
		defer cancel()
		start := time.Now()
		_, err = c.Chart(tctx, "oci://"+reg.Host()+"/charts", "core", "1.2.0")
		wantUnknown(t, "Chart", err)
		if !errors.Is(err, context.DeadlineExceeded) && reg.Count("", "/manifests/") < 2 {
			t.Errorf("neither retried nor timed out: %v\n%s", err, reg.Dump())
		}
		if d := time.Since(start); d > 10*time.Second {
			t.Errorf("took %v despite the deadline", d)
		}
	})

	t.Run("transient 503 is retried", func(t *testing.T) {
		reg := registrytest.New(t, registrytest.WithMiddleware(registrytest.FailFirst("HEAD", "/manifests/", 1, http.StatusServiceUnavailable)))
		c, err := helm.NewClient()
		if err != nil {
			t.Fatal(err)
		}
		got, err := c.Chart(ctx, "oci://"+reg.Host()+"/charts", "core", "1.2.0")
		if err != nil || got.Present {
			t.Errorf("Chart after one 503: %+v, %v; want absent", got, err)
		}
	})

	t.Run("down", func(t *testing.T) {
		reg := registrytest.New(t)
		repo := "oci://" + reg.Host() + "/charts"
		reg.Close()
		_, err := noRetry.Chart(ctx, repo, "core", "1.2.0")
		wantUnknown(t, "Chart", err)
		_, err = noRetry.Push(ctx, p, repo)
		wantUnknown(t, "Push", err)
	})

	t.Run("unauthorized", func(t *testing.T) {
		reg := registrytest.New(t, registrytest.WithBasicAuth("ship", "lane"))
		_, err := noRetry.Chart(ctx, "oci://"+reg.Host()+"/charts", "core", "1.2.0")
		wantUnknown(t, "Chart", err)
	})
}

// TestCredentialsFromDockerConfig pushes to a registry that requires a login, with the
// credentials in the Docker config, as a developer's `docker login` leaves them.
func TestCredentialsFromDockerConfig(t *testing.T) {
	dir := isolateCredentials(t)
	reg := registrytest.New(t, registrytest.WithBasicAuth("ship", "lane"))
	cfg := `{"auths":{"` + reg.Host() + `":{"auth":"` + base64.StdEncoding.EncodeToString([]byte("ship:lane")) + `"}}}`
	if err := os.MkdirAll(filepath.Join(dir, "docker"), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "docker", "config.json"), []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	c, err := helm.NewClient()
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	p := packageCore(t)
	repo := "oci://" + reg.Host() + "/charts"
	res, err := c.Push(ctx, p, repo)
	if err != nil {
		t.Fatal(err)
	}
	got, err := c.Chart(ctx, repo, p.Name, p.Version)
	if err != nil || !got.Present || got.Digest != res.Digest {
		t.Errorf("Chart = %+v, %v", got, err)
	}
}

func TestRepositoryMustBeOCI(t *testing.T) {
	c, err := helm.NewClient()
	if err != nil {
		t.Fatal(err)
	}
	for _, repo := range []string{"https://example.com/charts", "oci://", "localhost:5000/charts"} {
		if _, err := c.Chart(context.Background(), repo, "core", "1.0.0"); err == nil || errors.Is(err, published.ErrUnknown) {
			t.Errorf("Chart(%q): %v; want a plain refusal", repo, err)
		}
	}
}

// TestPullChartAtReadsTheDigestNotTheTag: after the version tag is moved to another artifact (as
// anyone who can write to the registry can), PullChartAt of the digest that was published
// returns the published archive byte for byte, and PullChart of the tag does not.
func TestPullChartAtReadsTheDigestNotTheTag(t *testing.T) {
	isolateCredentials(t)
	reg := registrytest.New(t)
	c, err := helm.NewClient()
	if err != nil {
		t.Fatal(err)
	}
	ctx := t.Context()
	p := packageCore(t)
	repo := "oci://" + reg.Host() + "/charts"
	if _, err := c.Push(ctx, p, repo); err != nil {
		t.Fatal(err)
	}
	published, err := c.Chart(ctx, repo, p.Name, p.Version)
	if err != nil || !published.Present {
		t.Fatalf("Chart = %+v, %v", published, err)
	}
	want, err := os.ReadFile(p.Path)
	if err != nil {
		t.Fatal(err)
	}
	registrytest.PushRandom(t, reg.Host()+"/charts/"+p.Name+":"+p.Version)
	got, err := c.PullChartAt(ctx, repo, p.Name, p.Version, published.Digest)
	if err != nil {
		t.Fatalf("PullChartAt: %v", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("PullChartAt returned %d bytes, not the published archive (%d bytes)", len(got), len(want))
	}
	if now, err := c.Chart(ctx, repo, p.Name, p.Version); err == nil && now.Digest == published.Digest {
		t.Fatalf("the tag was not moved")
	}
	if _, err := c.PullChartAt(ctx, repo, p.Name, p.Version, "sha256:"+strings.Repeat("0", 64)); !errors.Is(err, helm.ErrChartNotFound) {
		t.Errorf("PullChartAt of a digest the repository does not hold: %v, want ErrChartNotFound", err)
	}
}
