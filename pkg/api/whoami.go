package api

import (
	"context"
	"fmt"

	"connectrpc.com/connect"

	apiv1 "github.com/accessgraph/accessgraph/pkg/api/gen/accessgraph/v1"
	"github.com/accessgraph/accessgraph/pkg/principal"
)

// WhoAmI answers with the principal the call's key proves, so that a client learns whom
// its key acts for (the CLI implies a user key's --as from it).
func (s *accessServer) WhoAmI(ctx context.Context, _ *connect.Request[apiv1.WhoAmIRequest]) (*connect.Response[apiv1.WhoAmIResponse], error) {
	p, ok := principal.FromContext(ctx)
	if !ok {
		return nil, fmt.Errorf("%w: the call carries no principal", principal.ErrUnauthenticated)
	}
	out := &apiv1.WhoAmIResponse{Principal: p.String(), Kind: string(p.Kind), Name: p.Name}
	if p.Kind == principal.User {
		out.User = "user:" + p.User
	}
	return connect.NewResponse(out), nil
}
