// Package targets holds shiplane's mage targets. Each parses its arguments, calls one lane
// function and returns its error. Import it from another repository's magefile with
//
//	import (
//		//mage:import
//		"github.com/shiplane/shiplane/magefiles/targets"
//	)
//
//	func init() {
//		targets.ComponentsFile = "ops/components.yaml"
//		targets.SettingsFile = "ops/settings.yaml"
//		targets.ReleaseFile = "ops/release.yaml"
//	}
//
// or leave them alone and set SHIPLANE_COMPONENTS, SHIPLANE_SETTINGS and SHIPLANE_RELEASE.
package targets

import (
	"context"
	"os"
	"strings"

	"github.com/shiplane/shiplane/magefiles/lane"
	"github.com/shiplane/shiplane/magefiles/localregistry"
)

// ComponentsFile is the components manifest, relative to the repository root. Empty means
// $SHIPLANE_COMPONENTS, else deploy/components.yaml.
var ComponentsFile string

// SettingsFile is the lanes' settings (registries, chart repositories), relative to the
// repository root. Empty means $SHIPLANE_SETTINGS, else deploy/settings.yaml.
var SettingsFile string

// ReleaseFile is the release pipeline (verification goals), relative to the repository root.
// Empty means $SHIPLANE_RELEASE, else deploy/release.yaml.
var ReleaseFile string

func config() lane.Config {
	return lane.Config{Components: ComponentsFile, Settings: SettingsFile, Release: ReleaseFile}
}

// BuildAllLocal builds every component image into the local Docker daemon, tagged :latest and :<version>.
func BuildAllLocal(ctx context.Context) error {
	return lane.BuildAllLocal(ctx, config())
}

// ComposeUpLocal starts the components' compose files with Compose; -include=<bundle> (or COMPOSE_INCLUDE) adds bundles.
func ComposeUpLocal(ctx context.Context, include *string) error {
	var bundles []string
	if include != nil {
		for _, b := range strings.Split(*include, ",") {
			if b = strings.TrimSpace(b); b != "" {
				bundles = append(bundles, b)
			}
		}
	}
	return lane.ComposeUpLocal(ctx, config(), bundles)
}

// ComposeDownLocal stops and removes everything composeUpLocal started; the shared network stays.
func ComposeDownLocal(ctx context.Context) error {
	return lane.ComposeDownLocal(ctx, config())
}

// Bump sets a component's version (patch, minor, major or X.Y.Z) in its VERSION file and chart; "platform" bumps the release version.
func Bump(ctx context.Context, component, to string) error {
	return lane.Bump(ctx, config(), component, to)
}

// PushAllDev pushes current-version images and charts to the dev registry (DEV_REGISTRY, default localhost:5000/dev) without bumping.
func PushAllDev(ctx context.Context) error {
	return lane.PushAllDev(ctx, config())
}

// LocalRegistry serves an OCI registry on 127.0.0.1:5000 (storage in the user cache) until interrupted.
func LocalRegistry(ctx context.Context) error {
	return localregistry.Serve(ctx, os.Getenv("LOCAL_REGISTRY_ADDR"), os.Getenv("LOCAL_REGISTRY_DIR"), os.Stderr)
}

// DeployAllLocal installs or upgrades every component chart from the working tree into the current kube context (KUBECONFIG, DEPLOY_NAMESPACE, DEPLOY_WAIT=1).
func DeployAllLocal(ctx context.Context) error {
	return lane.DeployAllLocal(ctx, config())
}

// DeployDownLocal uninstalls every release deployAllLocal installed.
func DeployDownLocal(ctx context.Context) error {
	return lane.DeployDownLocal(ctx, config())
}

// ReleasePlan prints what releaseAll would decide for every component and artifact, and writes nothing; -json prints it as JSON.
func ReleasePlan(ctx context.Context, json *bool) error {
	cfg := config()
	cfg.PlanJSON = json != nil && *json
	return lane.ReleasePlan(ctx, cfg)
}

// ReleaseAll publishes the release of the tag at HEAD (CI): guardrails, verification, images, charts, git tags, GitHub release.
func ReleaseAll(ctx context.Context) error {
	return lane.ReleaseAll(ctx, config())
}

// TagRelease creates the tag v<root VERSION> at HEAD and pushes it to origin, after the guardrails pass.
func TagRelease(ctx context.Context) error {
	return lane.TagRelease(ctx, config())
}
