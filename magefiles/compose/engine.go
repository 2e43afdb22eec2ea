package compose

import (
	"context"

	"github.com/compose-spec/compose-go/v2/types"
	"github.com/docker/compose/v5/pkg/api"
	"github.com/moby/moby/client"
)

// Engine is the part of the Docker Engine API the runner uses besides Compose: checking images,
// keeping the shared networks and explaining a failed start. Its methods are those of
// github.com/moby/moby/client, so the daemon's client satisfies it as is; errors must classify
// with github.com/containerd/errdefs (IsNotFound, IsConflict) as that client's do.
type Engine interface {
	ImageInspect(ctx context.Context, image string, opts ...client.ImageInspectOption) (client.ImageInspectResult, error)
	NetworkInspect(ctx context.Context, network string, options client.NetworkInspectOptions) (client.NetworkInspectResult, error)
	NetworkCreate(ctx context.Context, name string, options client.NetworkCreateOptions) (client.NetworkCreateResult, error)
	ContainerList(ctx context.Context, options client.ContainerListOptions) (client.ContainerListResult, error)
	ContainerInspect(ctx context.Context, container string, options client.ContainerInspectOptions) (client.ContainerInspectResult, error)
}

var _ Engine = (client.APIClient)(nil)

// Composer is the part of the Compose SDK the runner drives.
type Composer interface {
	Up(ctx context.Context, project *types.Project, options api.UpOptions) error
	Down(ctx context.Context, projectName string, options api.DownOptions) error
}

var _ Composer = (api.Compose)(nil)
