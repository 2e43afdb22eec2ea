package helm_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"helm.sh/helm/v3/pkg/registry"

	"github.com/shiplane/shiplane/magefiles/helm"
	"github.com/shiplane/shiplane/magefiles/registry/registrytest"
)

// twoCores packages the core chart twice, from two commits: the same version, two manifests.
func twoCores(t *testing.T) (ours, theirs *helm.Package) {
	t.Helper()
	ctx := context.Background()
	charts := copyCharts(t, false)
	var err error
	if ours, err = helm.PackageChart(ctx, filepath.Join(charts, "core"), stampFor("core", commitTime), helm.WithOutputDir(t.TempDir())); err != nil {
		t.Fatal(err)
	}
	if theirs, err = helm.PackageChart(ctx, filepath.Join(charts, "core"), stampFor("core", commitTime.Add(time.Hour)), helm.WithOutputDir(t.TempDir())); err != nil {
		t.Fatal(err)
	}
	if ours.Version != theirs.Version || ours.ManifestDigest == theirs.ManifestDigest {
		t.Fatalf("want one version, two manifests: %s %s, %s %s", ours.Version, ours.ManifestDigest, theirs.Version, theirs.ManifestDigest)
	}
	return ours, theirs
}

// foreignChartPush returns a function that pushes pkg to *repo with a client of its own, as
// another machine's push of the same version would, for a registrytest.Hook.
func foreignChartPush(t *testing.T, repo *string, pkg *helm.Package) func() {
	return func() {
		c, err := helm.NewClient()
		if err == nil {
			_, err = c.Push(context.Background(), pkg, *repo)
		}
		if err != nil {
			t.Errorf("the foreign push of %s %s: %v", pkg.Name, pkg.Version, err)
		}
	}
}

func chartHeld(t *testing.T, c *helm.Client, repo string, p *helm.Package) string {
	t.Helper()
	got, err := c.Chart(context.Background(), repo, p.Name, p.Version)
	if err != nil || !got.Present {
		t.Fatalf("Chart(%s %s) = %+v, %v", p.Name, p.Version, got, err)
	}
	return got.Digest
}

// TestChartPushedDuringTheUploadIsRefused: someone pushes the same chart version while our blobs
// upload; the tag is asked again right before our tag PUT, the push is refused, and theirs stays.
func TestChartPushedDuringTheUploadIsRefused(t *testing.T) {
	isolateCredentials(t)
	ours, theirs := twoCores(t)
	var repo string
	reg := registrytest.New(t, registrytest.WithMiddleware(
		registrytest.Hook(registrytest.Before, http.MethodPut, "/v2/charts/core/blobs/uploads/", foreignChartPush(t, &repo, theirs))))
	repo = "oci://" + reg.Host() + "/charts"
	c, err := helm.NewClient()
	if err != nil {
		t.Fatal(err)
	}

	_, err = c.Push(context.Background(), ours, repo)
	var cw *helm.ConcurrentWriteError
	if !errors.As(err, &cw) {
		t.Fatalf("err = %v, want *ConcurrentWriteError\n%s", err, reg.Dump())
	}
	t.Logf("chart pushed during the upload: %v", err)
	ref := reg.Host() + "/charts/core:" + ours.Version
	if cw.Ref != ref || cw.Ours != ours.ManifestDigest || cw.Theirs != theirs.ManifestDigest || cw.AfterPut {
		t.Errorf("error %+v, want ref %s, ours %s, theirs %s, before the PUT", cw, ref, ours.ManifestDigest, theirs.ManifestDigest)
	}
	for _, s := range []string{ref, cw.Ours, cw.Theirs} {
		if !strings.Contains(err.Error(), s) {
			t.Errorf("message %q does not name %s", err, s)
		}
	}
	var ee *helm.ExistsError
	if !errors.As(err, &ee) || ee.Have != cw.Theirs || ee.Want != cw.Ours {
		t.Errorf("a refusal before the PUT should also be an *ExistsError: %v", err)
	}
	if got := chartHeld(t, c, repo, ours); got != theirs.ManifestDigest {
		t.Errorf("%s holds %s after the refused push, want theirs %s", ref, got, theirs.ManifestDigest)
	}
	if n := reg.Count(http.MethodPut, "/v2/charts/core/manifests/"+ours.Version); n != 1 {
		t.Errorf("tag PUTs = %d, want only theirs:\n%s", n, reg.Dump())
	}
}

// TestChartPushedRightAfterOurPutIsReported: someone pushes the same version between our tag PUT
// and its read-back; the read-back sees it and the push fails, naming both digests.
func TestChartPushedRightAfterOurPutIsReported(t *testing.T) {
	isolateCredentials(t)
	ours, theirs := twoCores(t)
	var repo string
	// Theirs, pushed with helm.Client.Push, would be refused (ours is there by then): the other
	// machine uses Helm's own registry client, which overwrites, as `helm push` does.
	var theirsDigest string
	overwrite := func() {
		data, err := os.ReadFile(theirs.Path)
		if err != nil {
			t.Error(err)
			return
		}
		rc, err := registry.NewClient(registry.ClientOptPlainHTTP(), registry.ClientOptWriter(io.Discard))
		if err != nil {
			t.Error(err)
			return
		}
		res, err := rc.Push(data, strings.TrimPrefix(repo, "oci://")+"/core:"+theirs.Version)
		if err != nil {
			t.Errorf("the foreign push: %v", err)
			return
		}
		theirsDigest = res.Manifest.Digest
	}
	reg := registrytest.New(t, registrytest.WithMiddleware(
		registrytest.Hook(registrytest.After, http.MethodPut, "/v2/charts/core/manifests/"+ours.Version, overwrite)))
	repo = "oci://" + reg.Host() + "/charts"
	c, err := helm.NewClient()
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.Push(context.Background(), ours, repo)
	var cw *helm.ConcurrentWriteError
	if !errors.As(err, &cw) {
		t.Fatalf("err = %v, want *ConcurrentWriteError\n%s", err, reg.Dump())
	}
	t.Logf("chart pushed right after our PUT: %v", err)
	ref := reg.Host() + "/charts/core:" + ours.Version
	if cw.Ref != ref || cw.Ours != ours.ManifestDigest || cw.Theirs != theirsDigest || theirsDigest == "" || !cw.AfterPut {
		t.Errorf("error %+v, want ref %s, ours %s, theirs %s, after the PUT", cw, ref, ours.ManifestDigest, theirsDigest)
	}
	for _, s := range []string{ref, cw.Ours, cw.Theirs} {
		if !strings.Contains(err.Error(), s) {
			t.Errorf("message %q does not name %s", err, s)
		}
	}
	var ee *helm.ExistsError
	if errors.As(err, &ee) {
		t.Errorf("a write after ours is not a refusal to overwrite: %v", err)
	}
}

// TestChartPushRequestBudget: a first push asks the tag three times (before, right before its
// PUT, after); the registry client adds one HEAD of the manifest's digest.
func TestChartPushRequestBudget(t *testing.T) {
	isolateCredentials(t)
	reg := registrytest.New(t)
	c, err := helm.NewClient()
	if err != nil {
		t.Fatal(err)
	}
	p := packageCore(t)
	if _, err := c.Push(context.Background(), p, "oci://"+reg.Host()+"/charts"); err != nil {
		t.Fatal(err)
	}
	if n := reg.Count(http.MethodHead, "/manifests/"+p.Version); n != 3 {
		t.Errorf("tag HEADs = %d, want 3:\n%s", n, reg.Dump())
	}
	if n := reg.Count(http.MethodHead, "/manifests/"); n != 4 {
		t.Errorf("manifest HEADs = %d, want 4:\n%s", n, reg.Dump())
	}
	if n := reg.Count(http.MethodPut, "/manifests/"+p.Version); n != 1 {
		t.Errorf("tag PUTs = %d, want 1:\n%s", n, reg.Dump())
	}
}

// TestChartCheckThatCannotTellWritesNoTag: a check right before the tag PUT that gets no answer
// stops the push before the tag is written.
func TestChartCheckThatCannotTellWritesNoTag(t *testing.T) {
	isolateCredentials(t)
	p := packageCore(t)
	var heads int
	mw := func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.Method == http.MethodHead && strings.HasSuffix(r.URL.Path, "/manifests/"+p.Version) {
				if heads++; heads > 1 {
					w.WriteHeader(http.StatusBadRequest)
					return
				}
			}
			next.ServeHTTP(w, r)
		})
	}
	reg := registrytest.New(t, registrytest.WithMiddleware(mw))
	c, err := helm.NewClient()
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.Push(context.Background(), p, "oci://"+reg.Host()+"/charts")
	wantUnknown(t, "Push", err)
	if n := reg.Count(http.MethodPut, "/manifests/"+p.Version); n != 0 {
		t.Errorf("the tag was written:\n%s", reg.Dump())
	}
}
