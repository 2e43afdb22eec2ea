// Command connector-webhook turns every POST /webhook into a core job. See
// package webhook for the endpoint and environment.
package main

import (
	"github.com/shiplane/shiplane/services/base/svc"
	"github.com/shiplane/shiplane/services/connector-webhook/webhook"
)

var version = "dev"

func main() {
	svc.Main(svc.Info{Name: "connector-webhook", Version: version}, webhook.Run)
}
