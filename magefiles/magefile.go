//go:build mage

// shiplane builds, shares and releases the components listed in deploy/components.yaml.
// Lanes: local (buildAllLocal, composeUpLocal), dev (pushAllDev), release (see RELEASING.md).
package main

// The targets live in an importable package, so another repository reuses them with
// `//mage:import github.com/shiplane/shiplane/magefiles/targets` and its own components file.
import (
	//mage:import
	_ "github.com/shiplane/shiplane/magefiles/targets"
)
