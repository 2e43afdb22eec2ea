// Package composetest holds in-memory fakes of the compose runner's Engine and Composer, for tests
// that must not need a Docker daemon.
package composetest

import (
	"context"
	"fmt"
	"strings"
	"sync"

	"github.com/compose-spec/compose-go/v2/types"
	cerrdefs "github.com/containerd/errdefs"
	"github.com/docker/compose/v5/pkg/api"
	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/client"

	"github.com/shiplane/shiplane/magefiles/compose"
)

// Engine is a fake Engine API: a set of image references, a set of networks and fixed containers.
type Engine struct {
	mu sync.Mutex
	// Images are the image references present ("repo:tag").
	Images map[string]bool
	// Networks maps the existing network names to their create options.
	Networks map[string]client.NetworkCreateOptions
	// Containers are what ContainerList and ContainerInspect answer.
	Containers []container.InspectResponse
	// Created lists the networks NetworkCreate created, in order.
	Created []string
	// Err, when set, is returned by every call.
	Err error
}

var _ compose.Engine = (*Engine)(nil)

// NewEngine returns an Engine holding images.
func NewEngine(images ...string) *Engine {
	e := &Engine{Images: map[string]bool{}, Networks: map[string]client.NetworkCreateOptions{}}
	for _, im := range images {
		e.Images[im] = true
	}
	return e
}

// ImageInspect reports whether image is present.
func (e *Engine) ImageInspect(_ context.Context, image string, _ ...client.ImageInspectOption) (client.ImageInspectResult, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.Err != nil {
		return client.ImageInspectResult{}, e.Err
	}
	if !e.Images[image] {
		return client.ImageInspectResult{}, fmt.Errorf("No such image: %s: %w", image, cerrdefs.ErrNotFound)
	}
	return client.ImageInspectResult{}, nil
}

// NetworkInspect reports whether the network exists.
func (e *Engine) NetworkInspect(_ context.Context, name string, _ client.NetworkInspectOptions) (client.NetworkInspectResult, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.Err != nil {
		return client.NetworkInspectResult{}, e.Err
	}
	if _, ok := e.Networks[name]; !ok {
		return client.NetworkInspectResult{}, fmt.Errorf("network %s not found: %w", name, cerrdefs.ErrNotFound)
	}
	return client.NetworkInspectResult{}, nil
}

// NetworkCreate adds the network, failing with a conflict when it exists.
func (e *Engine) NetworkCreate(_ context.Context, name string, options client.NetworkCreateOptions) (client.NetworkCreateResult, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.Err != nil {
		return client.NetworkCreateResult{}, e.Err
	}
	if _, ok := e.Networks[name]; ok {
		return client.NetworkCreateResult{}, fmt.Errorf("network with name %s already exists: %w", name, cerrdefs.ErrConflict)
	}
	e.Networks[name] = options
	e.Created = append(e.Created, name)
	return client.NetworkCreateResult{ID: name}, nil
}

// ContainerList lists the containers whose labels match every "label=key=value" filter.
func (e *Engine) ContainerList(_ context.Context, options client.ContainerListOptions) (client.ContainerListResult, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.Err != nil {
		return client.ContainerListResult{}, e.Err
	}
	var out client.ContainerListResult
next:
	for _, c := range e.Containers {
		for f := range options.Filters["label"] {
			k, v, _ := strings.Cut(f, "=")
			if c.Config == nil || c.Config.Labels[k] != v {
				continue next
			}
		}
		s := container.Summary{ID: c.ID, Names: []string{"/" + strings.TrimPrefix(c.Name, "/")}, Labels: c.Config.Labels}
		if c.State != nil {
			s.State = c.State.Status
		}
		out.Items = append(out.Items, s)
	}
	return out, nil
}

// ContainerInspect returns the container with that ID.
func (e *Engine) ContainerInspect(_ context.Context, id string, _ client.ContainerInspectOptions) (client.ContainerInspectResult, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.Err != nil {
		return client.ContainerInspectResult{}, e.Err
	}
	for _, c := range e.Containers {
		if c.ID == id {
			return client.ContainerInspectResult{Container: c}, nil
		}
	}
	return client.ContainerInspectResult{}, fmt.Errorf("no such container %s: %w", id, cerrdefs.ErrNotFound)
}

// Composer is a fake Compose SDK that records its calls.
type Composer struct {
	mu sync.Mutex
	// Ups and Downs record the calls, in order.
	Ups   []UpCall
	Downs []DownCall
	// UpErr and DownErr are returned by Up and Down.
	UpErr, DownErr error
}

var _ compose.Composer = (*Composer)(nil)

// UpCall is one recorded Up.
type UpCall struct {
	Project *types.Project
	Options api.UpOptions
}

// DownCall is one recorded Down.
type DownCall struct {
	Project string
	Options api.DownOptions
}

// Up records the call and returns UpErr.
func (c *Composer) Up(_ context.Context, project *types.Project, options api.UpOptions) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.Ups = append(c.Ups, UpCall{Project: project, Options: options})
	return c.UpErr
}

// Down records the call and returns DownErr.
func (c *Composer) Down(_ context.Context, projectName string, options api.DownOptions) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.Downs = append(c.Downs, DownCall{Project: projectName, Options: options})
	return c.DownErr
}
