// Package webhook is the webhook connector: every POST /webhook body becomes
// a job (source "webhook") submitted to core.
package webhook

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/shiplane/shiplane/services/base/svc"
)

// DefaultPort is the connector's port when PORT is unset.
const DefaultPort = 8082

// DefaultCoreURL is core's address when CORE_URL is unset.
const DefaultCoreURL = "http://core:8080"

// Source is the job source the connector submits.
const Source = "webhook"

// Config is the connector's configuration.
type Config struct {
	Addr    string        // PORT (default 8082)
	CoreURL string        // CORE_URL (default http://core:8080)
	Timeout time.Duration // CORE_TIMEOUT for one submit (default 10s)
}

// ConfigFromEnv reads PORT, CORE_URL and CORE_TIMEOUT.
func ConfigFromEnv(env svc.Env) (Config, error) {
	addr, err := env.Addr(DefaultPort)
	if err != nil {
		return Config{}, err
	}
	timeout, err := env.Duration("CORE_TIMEOUT", 10*time.Second)
	if err != nil {
		return Config{}, err
	}
	return Config{Addr: addr, CoreURL: env.String("CORE_URL", DefaultCoreURL), Timeout: timeout}, nil
}

// Forwarder submits webhook bodies to core.
type Forwarder struct {
	CoreURL string
	Client  *http.Client
	Log     *slog.Logger
}

// NewHandler returns the connector's HTTP handler: /healthz, /version and
//
//	POST /webhook  any body -> core's job JSON with core's status (201),
//	               or 502 {"error":"submitting to core: ..."} when core fails.
func NewHandler(info svc.Info, f *Forwarder) http.Handler {
	mux := svc.NewMux(info)
	mux.HandleFunc("POST /webhook", f.serve)
	return mux
}

func (f *Forwarder) serve(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, svc.DefaultMaxBody))
	if err != nil {
		var tooLarge *http.MaxBytesError
		if errors.As(err, &tooLarge) {
			svc.WriteError(w, http.StatusRequestEntityTooLarge, "webhook body larger than %d bytes", tooLarge.Limit)
			return
		}
		svc.WriteError(w, http.StatusBadRequest, "reading webhook body: %v", err)
		return
	}
	var job json.RawMessage
	url := strings.TrimRight(f.CoreURL, "/") + "/jobs"
	req := map[string]string{"source": Source, "payload": string(body)}
	if err := svc.PostJSON(r.Context(), f.Client, url, req, &job); err != nil {
		f.Log.Warn("submit failed", "err", err)
		svc.WriteError(w, http.StatusBadGateway, "submitting to core: %v", err)
		return
	}
	f.Log.Info("submitted", "bytes", len(body))
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusCreated)
	_, _ = w.Write(append(job, '\n'))
}

// Run serves the connector until ctx ends.
func Run(ctx context.Context, info svc.Info, env svc.Env, log *slog.Logger) error {
	cfg, err := ConfigFromEnv(env)
	if err != nil {
		return err
	}
	log.Info("forwarding webhooks", "core_url", cfg.CoreURL)
	f := &Forwarder{CoreURL: cfg.CoreURL, Client: &http.Client{Timeout: cfg.Timeout}, Log: log}
	return svc.ListenAndServe(ctx, log, cfg.Addr, NewHandler(info, f))
}
