// Command healthcheck is the base image's program, /usr/local/bin/healthcheck. It has two modes.
//
//	healthcheck [url]
//
// probes a service from inside its container, so that scratch-based images can have a
// HEALTHCHECK: it GETs url, or http://127.0.0.1:$PORT/healthz (PORT defaults to 8080), with a 2s
// timeout and exits 0 on 200 OK, else 1 with a message on stderr.
//
//	healthcheck serve [-name NAME] -version-file FILE DIR
//
// serves DIR read-only on $PORT (default 8080), with /healthz and /version, for images that are
// a static site and no program of their own (see package static).
package main

import (
	"context"
	"fmt"
	"net/http"
	"os"

	"github.com/shiplane/shiplane/services/base/probe"
	"github.com/shiplane/shiplane/services/base/static"
	"github.com/shiplane/shiplane/services/base/svc"
)

var version = "dev"

func main() {
	if len(os.Args) == 2 && (os.Args[1] == "-version" || os.Args[1] == "--version") {
		fmt.Println("healthcheck", version)
		return
	}
	if len(os.Args) >= 2 && os.Args[1] == "serve" {
		cfg, err := static.ParseArgs(os.Args[2:], os.ReadFile)
		if err != nil {
			fmt.Fprintln(os.Stderr, "healthcheck serve:", err)
			os.Exit(2)
		}
		svc.Main(cfg.Info, cfg.Run)
		return
	}
	url, err := probe.Target(os.Args[1:], svc.OSEnv)
	if err != nil {
		fmt.Fprintln(os.Stderr, "healthcheck:", err)
		os.Exit(1)
	}
	client := &http.Client{Timeout: probe.Timeout}
	if err := probe.Check(context.Background(), client, url); err != nil {
		fmt.Fprintln(os.Stderr, "healthcheck: unhealthy:", err)
		os.Exit(1)
	}
	fmt.Println("healthcheck: healthy:", url)
}
