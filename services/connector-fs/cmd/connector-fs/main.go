// Command connector-fs submits every new file of a watched folder to core.
// See package watcher for the behaviour and environment.
package main

import (
	"github.com/shiplane/shiplane/services/base/svc"
	"github.com/shiplane/shiplane/services/connector-fs/watcher"
)

var version = "dev"

func main() {
	svc.Main(svc.Info{Name: "connector-fs", Version: version}, watcher.Run)
}
