package github

import (
	"bytes"
	"context"
	"fmt"
)

// MaxAssetRead bounds AssetContent: release manifests and checksums are small.
const MaxAssetRead = 16 << 20

// AssetContent downloads an uploaded asset's bytes (at most MaxAssetRead).
func (c *Client) AssetContent(ctx context.Context, a AssetDetail) ([]byte, error) {
	if !a.Uploaded() {
		return nil, fmt.Errorf("asset %s (id %d) is not completely uploaded", a.Name, a.ID)
	}
	var buf bytes.Buffer
	n, err := c.fetch(ctx, a, &buf, MaxAssetRead+1)
	if err != nil {
		return nil, err
	}
	if n > MaxAssetRead {
		return nil, fmt.Errorf("asset %s is larger than %d bytes", a.Name, MaxAssetRead)
	}
	return buf.Bytes(), nil
}
