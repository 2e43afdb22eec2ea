//go:build deps

package deps

import (
	_ "github.com/Masterminds/semver/v3"
	_ "github.com/compose-spec/compose-go/v2/loader"
	_ "github.com/distribution/distribution/v3/registry/handlers"
	_ "github.com/distribution/distribution/v3/registry/storage/driver/filesystem"
	_ "github.com/distribution/distribution/v3/registry/storage/driver/inmemory"
	_ "github.com/docker/compose/v5/pkg/compose"
	_ "github.com/google/go-containerregistry/pkg/v1/remote"
	_ "github.com/google/go-containerregistry/pkg/v1/daemon"
	_ "github.com/google/go-containerregistry/pkg/v1/mutate"
	_ "github.com/google/go-containerregistry/pkg/registry"
	_ "github.com/google/go-containerregistry/pkg/authn"
	_ "github.com/google/go-github/v89/github"
	_ "github.com/magefile/mage/mage"
	_ "github.com/moby/moby/client"
	_ "gopkg.in/yaml.v3"
	_ "helm.sh/helm/v3/pkg/action"
	_ "helm.sh/helm/v3/pkg/registry"
	_ "helm.sh/helm/v3/pkg/kube/fake"
	_ "helm.sh/helm/v3/pkg/storage/driver"
	_ "helm.sh/helm/v3/pkg/chart/loader"
	_ "helm.sh/helm/v3/pkg/lint"
)
