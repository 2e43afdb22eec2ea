// Package distribution sets up the reference OCI registry (github.com/distribution/distribution/v3)
// to run in-process, as localregistry (on disk, for people) and registrytest (in memory, for
// tests) both do: the configuration they share, the application built from it, and the
// process-wide logger it writes to. The caller imports the storage driver it names.
package distribution

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"maps"
	"sync"

	"github.com/distribution/distribution/v3/configuration"
	"github.com/distribution/distribution/v3/registry/handlers"
	"github.com/sirupsen/logrus"
)

// Config returns the configuration of an in-process registry: storage is the storage driver's
// section (e.g. {"filesystem": {"rootdirectory": dir}}), to which Config adds deletes enabled;
// the access log is off; secret signs upload state, "" meaning a random one. The caller may
// adjust the result before NewApp.
func Config(storage configuration.Storage, secret string) *configuration.Configuration {
	if secret == "" {
		b := make([]byte, 32)
		_, _ = rand.Read(b) // never fails (crypto/rand.Read crashes the program instead)
		secret = hex.EncodeToString(b)
	}
	cfg := &configuration.Configuration{}
	cfg.Storage = configuration.Storage{}
	maps.Copy(cfg.Storage, storage)
	cfg.Storage["delete"] = configuration.Parameters{"enabled": true}
	cfg.HTTP.Secret = secret
	cfg.Log.AccessLog.Disabled = true
	return cfg
}

// NewApp builds the registry application from cfg, turning its panics (its way of reporting bad
// configuration) into an error. Call Shutdown on the result when done.
func NewApp(ctx context.Context, cfg *configuration.Configuration) (app *handlers.App, err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("distribution registry: %v", p)
		}
	}()
	return handlers.NewApp(ctx, cfg), nil
}

var logMu sync.Mutex

// SetLog points the registry's logging, which goes through the process-wide logrus standard
// logger, at w and keeps the entries at level or above (logrus.PanicLevel for silence).
func SetLog(w io.Writer, level logrus.Level) {
	logMu.Lock()
	defer logMu.Unlock()
	logrus.SetOutput(w)
	logrus.SetLevel(level)
}
