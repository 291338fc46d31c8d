package factory

import (
	"context"

	"github.com/accessgraph/accessgraph/pkg/access"
)

// Change makes one change with the domain client and reports it: the confirmation on
// standard error, the revision token on standard output. Arguments must be validated
// before calling it, so that usage errors never wait for the server.
func (f *Factory) Change(ctx context.Context, confirmation string, fn func(access.Service) (access.Token, error)) error {
	p, err := f.Printer()
	if err != nil {
		return err
	}
	c, err := f.Access(ctx)
	if err != nil {
		return err
	}
	tok, err := fn(c)
	if err != nil {
		return err
	}
	return p.Change(tok, confirmation)
}
