// Command core is the shiplane reference platform's HTTP API: jobs in,
// results out. See package jobs for the endpoints and environment.
package main

import (
	"github.com/shiplane/shiplane/services/base/svc"
	"github.com/shiplane/shiplane/services/core/jobs"
)

var version = "dev"

func main() {
	svc.Main(svc.Info{Name: "core", Version: version}, jobs.Run)
}
