// Command scanner is the optional scan engine core calls when SCANNER_URL is
// set. See package scan for the endpoint and environment.
package main

import (
	"github.com/shiplane/shiplane/services/base/svc"
	"github.com/shiplane/shiplane/services/scanner/scan"
)

var version = "dev"

func main() {
	svc.Main(svc.Info{Name: "scanner", Version: version}, scan.Run)
}
