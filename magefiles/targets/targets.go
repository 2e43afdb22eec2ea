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

	"github.com/magefile/mage/mg"

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

// config is the lanes' configuration: the files, and Verbose from mage -v (MAGEFILE_VERBOSE),
// read once here.
func config() lane.Config {
	return lane.Config{Components: ComponentsFile, Settings: SettingsFile, Release: ReleaseFile, Verbose: mg.Verbose()}
}

// BuildAllLocal builds every component image into the local Docker daemon, tagged :latest and :<version>; -only=core,… (or COMPONENTS) builds those and the images they are FROM.
func BuildAllLocal(ctx context.Context,
	only *string, // components to build, comma-separated, with the images they are FROM (default: $COMPONENTS, else all)
) error {
	cfg := config()
	cfg.Only = list(only)
	return lane.BuildAllLocal(ctx, cfg)
}

// ComposeUpLocal builds the out-of-date images, then starts the components' compose files with Compose; -include=<bundle> (or COMPOSE_INCLUDE) adds bundles, -only=… (or COMPONENTS) limits the components, -nobuild starts what is there.
func ComposeUpLocal(ctx context.Context,
	include *string, // bundles to add, comma-separated (and $COMPOSE_INCLUDE)
	only *string, // components to start, comma-separated, with those they depend on (default: $COMPONENTS, else all)
	nobuild *bool, // start the images that are there, warning about stale ones (default: build what is out of date first)
) error {
	cfg := config()
	cfg.Only = list(only)
	var opts []lane.UpOption
	if nobuild != nil && *nobuild {
		opts = append(opts, lane.WithoutBuild())
	}
	return lane.ComposeUpLocal(ctx, cfg, list(include), opts...)
}

// list is an optional comma-separated flag's items (nil when the flag was not given).
func list(flag *string) []string {
	if flag == nil {
		return nil
	}
	return lane.SplitList(*flag)
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

// DeployAllLocal installs or upgrades every component chart from the working tree into a kube context: -context=<name> (or KUBE_CONTEXT), else the current one (KUBECONFIG, DEPLOY_NAMESPACE, DEPLOY_WAIT=1).
func DeployAllLocal(ctx context.Context,
	context *string, // the kubeconfig context (default: $KUBE_CONTEXT, else the current-context)
) error {
	return lane.DeployAllLocal(ctx, kubeContext(context))
}

// DeployDownLocal uninstalls every release deployAllLocal installed; -context=<name> (or KUBE_CONTEXT) picks the kube context.
func DeployDownLocal(ctx context.Context,
	context *string, // the kubeconfig context (default: $KUBE_CONTEXT, else the current-context)
) error {
	return lane.DeployDownLocal(ctx, kubeContext(context))
}

// kubeContext is the configuration with the -context flag's value, when given.
func kubeContext(flag *string) lane.Config {
	cfg := config()
	if flag != nil {
		cfg.KubeContext = strings.TrimSpace(*flag)
	}
	return cfg
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

// TagRelease creates the tag v<root VERSION> at HEAD and pushes it to origin, after every check releaseAll would refuse on; -verify runs the verification goals first, -yes tags without asking.
func TagRelease(ctx context.Context,
	verify *bool, // run the release file's verification goals locally before tagging (default: only check the file)
	yes *bool, // tag without asking (default: ask on a terminal, unless CI=true)
) error {
	cfg := config()
	cfg.Verify = verify != nil && *verify
	cfg.Yes = yes != nil && *yes
	return lane.TagRelease(ctx, cfg)
}

// RevertRelease removes what the GitHub release <tag> newly published, within revert_window (default 1h) of its publishing; -plan prints what it would do and writes nothing.
func RevertRelease(ctx context.Context, tag string,
	plan *bool, // print the plan (every goal assessed) and write nothing
) error {
	return lane.RevertRelease(ctx, config(), tag, plan != nil && *plan)
}

// VerifyRelease checks the published GitHub release <tag>: its signed release-manifest.json, SHA256SUMS, the tag's commit, and every image and chart's signature, SBOM, provenance and tag; -key=<pub.pem> (default deploy/signing.pub).
//
// A keyless release is verified by who signed it instead of a key: -certificate-identity=<id> (or
// -certificate-identity-regexp=<re>) and -certificate-oidc-issuer=<issuer>, with
// -trusted-root=<trusted_root.json> (default: the Sigstore public-good trusted root, fetched; needs
// the network). The options take cosign's names; mage matches option names without case and
// without dashes (go run mage.go drops them), so -certificateIdentity= works too.
func VerifyRelease(ctx context.Context, tag string,
	key *string, // the public key to verify with (default: the repository's deploy/signing.pub)
	certificateIdentity *string, // keyless: the identity the certificates must name (the release workflow: https://github.com/OWNER/REPO/.github/workflows/FILE@refs/tags/TAG)
	certificateIdentityRegexp *string, // keyless: a regular expression the identity must match, instead
	certificateOidcIssuer *string, // keyless: the OIDC issuer the certificates must name (GitHub Actions: https://token.actions.githubusercontent.com)
	trustedRoot *string, // keyless: a trusted_root.json to trust (default: the Sigstore public-good one, fetched; needs the network)
	keyring *string, // the OpenPGP keyring the charts' .prov files must verify with (default: deploy/helm-keyring.gpg when committed)
) error {
	str := func(p *string) string {
		if p == nil {
			return ""
		}
		return *p
	}
	return lane.VerifyRelease(ctx, config(), tag, lane.VerifyOptions{
		KeyFile:                   str(key),
		CertificateIdentity:       str(certificateIdentity),
		CertificateIdentityRegexp: str(certificateIdentityRegexp),
		CertificateOIDCIssuer:     str(certificateOidcIssuer),
		TrustedRoot:               str(trustedRoot),
		HelmKeyring:               str(keyring),
	})
}
