package client

import (
	"context"
	"strings"

	apiv1 "github.com/accessgraph/accessgraph/pkg/api/gen/accessgraph/v1"
	"github.com/accessgraph/accessgraph/pkg/principal"
)

// WhoAmI returns the principal the client's key proves: its kind, its name and, for a
// user principal, the user it acts as. It is also the cheapest call that proves the
// server answers and accepts the key.
func (c *Client) WhoAmI(ctx context.Context) (principal.Principal, error) {
	r, err := call(ctx, c.access.WhoAmI, &apiv1.WhoAmIRequest{})
	if err != nil {
		return principal.Principal{}, err
	}
	return principal.Principal{Name: r.Name, Kind: principal.Kind(r.Kind), User: strings.TrimPrefix(r.User, "user:")}, nil
}
