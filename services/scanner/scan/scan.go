// Package scan is the scanner service: a toy engine that flags payloads
// containing the EICAR marker, served as POST /scan.
package scan

import (
	"context"
	"log/slog"
	"net/http"
	"strings"

	"github.com/shiplane/shiplane/services/base/svc"
)

// DefaultPort is the scanner's port when PORT is unset.
const DefaultPort = 8083

// Verdicts.
const (
	Clean     = "clean"
	Malicious = "malicious"
)

// Marker is the substring that makes a payload malicious.
const Marker = "EICAR"

// Verdict returns Malicious if payload contains Marker, else Clean.
func Verdict(payload string) string {
	if strings.Contains(payload, Marker) {
		return Malicious
	}
	return Clean
}

// NewHandler returns the scanner's HTTP handler: /healthz, /version and
//
//	POST /scan  {"payload":"..."} -> {"verdict":"clean"|"malicious"}
func NewHandler(info svc.Info, log *slog.Logger) http.Handler {
	mux := svc.NewMux(info)
	mux.HandleFunc("POST /scan", func(w http.ResponseWriter, r *http.Request) {
		var req struct {
			Payload *string `json:"payload"`
		}
		if !svc.DecodeJSON(w, r, 0, &req) {
			return
		}
		if req.Payload == nil {
			svc.WriteError(w, http.StatusBadRequest, `"payload" is required`)
			return
		}
		v := Verdict(*req.Payload)
		log.Info("scanned", "bytes", len(*req.Payload), "verdict", v)
		svc.WriteJSON(w, http.StatusOK, map[string]string{"verdict": v})
	})
	return mux
}

// Run serves the scanner on PORT (default 8083) until ctx ends.
func Run(ctx context.Context, info svc.Info, env svc.Env, log *slog.Logger) error {
	addr, err := env.Addr(DefaultPort)
	if err != nil {
		return err
	}
	return svc.ListenAndServe(ctx, log, addr, NewHandler(info, log))
}
