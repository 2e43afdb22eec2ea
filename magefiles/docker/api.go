package docker

import "github.com/moby/moby/client"

// API is the underlying Engine API client, for backends that speak to the daemon themselves
// (go-containerregistry's daemon package reads images through it).
func (c *Client) API() *client.Client { return c.api }
