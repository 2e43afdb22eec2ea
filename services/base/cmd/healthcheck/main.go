// Command healthcheck probes a service from inside its container:
//
//	healthcheck [url]
//
// It GETs url, or http://127.0.0.1:$PORT/healthz (PORT defaults to 8080),
// with a 2s timeout and exits 0 on 200 OK, else 1 with a message on stderr.
// It is copied into the base image as /usr/local/bin/healthcheck so that
// scratch-based images can have a HEALTHCHECK.
package main

import (
	"context"
	"fmt"
	"net/http"
	"os"

	"github.com/shiplane/shiplane/services/base/probe"
	"github.com/shiplane/shiplane/services/base/svc"
)

var version = "dev"

func main() {
	if len(os.Args) == 2 && (os.Args[1] == "-version" || os.Args[1] == "--version") {
		fmt.Println("healthcheck", version)
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
