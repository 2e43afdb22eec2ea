package jobs

import (
	"context"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/shiplane/shiplane/services/base/svc"
)

// DefaultPort is core's port when PORT is unset.
const DefaultPort = 8080

// Config is core's configuration.
type Config struct {
	Addr        string        // listen address, from PORT (default 8080)
	ScannerURL  string        // SCANNER_URL; empty means no scanner
	ScanTimeout time.Duration // SCAN_TIMEOUT (default 5s)
}

// ConfigFromEnv reads PORT, SCANNER_URL and SCAN_TIMEOUT.
func ConfigFromEnv(env svc.Env) (Config, error) {
	addr, err := env.Addr(DefaultPort)
	if err != nil {
		return Config{}, err
	}
	timeout, err := env.Duration("SCAN_TIMEOUT", 5*time.Second)
	if err != nil {
		return Config{}, err
	}
	return Config{Addr: addr, ScannerURL: env.String("SCANNER_URL", ""), ScanTimeout: timeout}, nil
}

// API serves the jobs endpoints.
type API struct {
	Store   *Store
	Scanner Scanner // nil: jobs are stored "unscanned"
	Log     *slog.Logger
}

// NewHandler returns core's full HTTP handler: /healthz, /version and
//
//	POST /jobs       {"source":"...","payload":"..."} -> 201 and the job
//	GET  /jobs       all jobs, oldest first
//	GET  /jobs/{id}  one job, 404 if unknown
func NewHandler(info svc.Info, api *API) http.Handler {
	mux := svc.NewMux(info)
	mux.HandleFunc("POST /jobs", api.create)
	mux.HandleFunc("GET /jobs", api.list)
	mux.HandleFunc("GET /jobs/{id}", api.get)
	return mux
}

type createRequest struct {
	Source  string `json:"source"`
	Payload string `json:"payload"`
}

func (a *API) create(w http.ResponseWriter, r *http.Request) {
	var req createRequest
	if !svc.DecodeJSON(w, r, 0, &req) {
		return
	}
	if strings.TrimSpace(req.Source) == "" {
		svc.WriteError(w, http.StatusBadRequest, `"source" is required`)
		return
	}
	job := Job{Source: req.Source, Payload: req.Payload, Status: StatusUnscanned}
	if a.Scanner != nil {
		verdict, err := a.Scanner.Scan(r.Context(), req.Payload)
		if err != nil {
			job.Status, job.Error = StatusScanFailed, err.Error()
		} else {
			job.Status, job.Verdict = StatusScanned, verdict
		}
	}
	job = a.Store.Add(job)
	a.Log.Info("job created", "id", job.ID, "source", job.Source, "status", job.Status, "verdict", job.Verdict, "error", job.Error)
	svc.WriteJSON(w, http.StatusCreated, job)
}

func (a *API) list(w http.ResponseWriter, _ *http.Request) {
	svc.WriteJSON(w, http.StatusOK, a.Store.List())
}

func (a *API) get(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	job, ok := a.Store.Get(id)
	if !ok {
		svc.WriteError(w, http.StatusNotFound, "job %q not found", id)
		return
	}
	svc.WriteJSON(w, http.StatusOK, job)
}

// Run is core's main loop: it serves the API until ctx ends.
func Run(ctx context.Context, info svc.Info, env svc.Env, log *slog.Logger) error {
	cfg, err := ConfigFromEnv(env)
	if err != nil {
		return err
	}
	api := &API{Store: NewStore(), Log: log}
	if cfg.ScannerURL != "" {
		api.Scanner = &HTTPScanner{URL: cfg.ScannerURL, Client: &http.Client{Timeout: cfg.ScanTimeout}}
		log.Info("scanning jobs", "scanner_url", cfg.ScannerURL)
	} else {
		log.Info("no SCANNER_URL: jobs stay unscanned")
	}
	return svc.ListenAndServe(ctx, log, cfg.Addr, NewHandler(info, api))
}
