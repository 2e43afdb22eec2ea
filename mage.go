//go:build ignore

// Zero-install entry point: go run mage.go <target> (go run mage.go -l lists the targets).
// It runs the targets compiled once into the user cache (magefiles/launch), so two calls at once
// work and a call after the first starts at once.
package main

import (
	"os"

	"github.com/shiplane/shiplane/magefiles/launch"
)

func main() { os.Exit(launch.Main()) }
