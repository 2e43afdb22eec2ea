package distribution_test

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/distribution/distribution/v3/configuration"
	_ "github.com/distribution/distribution/v3/registry/storage/driver/inmemory" // the storage driver

	"github.com/shiplane/shiplane/magefiles/registry/distribution"
)

func TestConfigAndNewApp(t *testing.T) {
	storage := configuration.Storage{"inmemory": configuration.Parameters{}}
	cfg := distribution.Config(storage, "")
	if _, ok := storage["delete"]; ok {
		t.Error("Config changed the caller's storage section")
	}
	if cfg.Storage["delete"]["enabled"] != true || cfg.HTTP.Secret == "" || !cfg.Log.AccessLog.Disabled {
		t.Fatalf("Config = storage %v, secret %q, access log disabled %v", cfg.Storage, cfg.HTTP.Secret, cfg.Log.AccessLog.Disabled)
	}
	app, err := distribution.NewApp(t.Context(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer app.Shutdown()
	srv := httptest.NewServer(app)
	defer srv.Close()
	resp, err := http.Get(srv.URL + "/v2/")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Errorf("GET /v2/ = %d, want 200", resp.StatusCode)
	}
}

func TestNewAppReportsBadConfig(t *testing.T) {
	cfg := distribution.Config(configuration.Storage{"no-such-driver": configuration.Parameters{}}, "s")
	if _, err := distribution.NewApp(t.Context(), cfg); err == nil {
		t.Fatal("NewApp with an unknown storage driver: no error")
	}
}
