package docker

import (
	"context"
	"fmt"

	"github.com/moby/moby/client"

	"github.com/shiplane/shiplane/magefiles/platform"
)

// Info is what the daemon says about itself (/info) that decides how images are built.
type Info struct {
	// OSType is the daemon's operating system ("linux").
	OSType string
	// Architecture is the daemon's machine as uname -m prints it ("x86_64", "aarch64").
	Architecture string
	// OperatingSystem describes the host ("Debian GNU/Linux 12 (bookworm)", "Docker Desktop").
	OperatingSystem string
	// Name is the daemon host's name.
	Name string
	// ServerVersion is the Engine version ("20.10.24").
	ServerVersion string
	// Platform is OSType and Architecture in OCI form ("linux/amd64", "linux/arm/v7"); the zero
	// platform when the architecture is not one Go compiles for.
	Platform platform.Platform
}

// UnknownPlatformError is a daemon whose architecture this tool cannot name as a Go target.
type UnknownPlatformError struct {
	Host         string
	OSType       string
	Architecture string
}

func (e *UnknownPlatformError) Error() string {
	return fmt.Sprintf("the Docker daemon at %s runs on %s/%s, an architecture Go does not compile for under that name; fix: set PLATFORMS to the platform to build for (e.g. PLATFORMS=linux/amd64), or use another engine",
		e.Host, e.OSType, e.Architecture)
}

// Info asks the daemon about itself.
func (c *Client) Info(ctx context.Context) (Info, error) {
	res, err := c.api.Info(ctx, client.InfoOptions{})
	if err != nil {
		return Info{}, fmt.Errorf("asking the Docker daemon at %s about itself: %w", c.Host(), err)
	}
	i := res.Info
	info := Info{OSType: i.OSType, Architecture: i.Architecture, OperatingSystem: i.OperatingSystem, Name: i.Name, ServerVersion: i.ServerVersion}
	if p, ok := platform.FromDaemon(i.OSType, i.Architecture); ok {
		info.Platform = p
	}
	return info, nil
}

// Platform is the daemon's own platform, normalised to OCI form ("linux/amd64" for an x86_64
// engine, "linux/arm64" for aarch64): what it builds and runs without emulation. An architecture
// Go has no name for is an *UnknownPlatformError.
func (c *Client) Platform(ctx context.Context) (platform.Platform, error) {
	info, err := c.Info(ctx)
	if err != nil {
		return platform.Platform{}, err
	}
	if info.Platform.IsZero() {
		return platform.Platform{}, &UnknownPlatformError{Host: c.Host(), OSType: info.OSType, Architecture: info.Architecture}
	}
	return info.Platform, nil
}
