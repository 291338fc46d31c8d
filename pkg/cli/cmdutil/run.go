package cmdutil

import "context"

// Run runs a command: run, its real run function, or runF in its place when a test built
// the command with one (a NewCmd... function's runF parameter, nil outside tests), so the
// test sees the options the command line parsed without running anything.
func Run[O any](ctx context.Context, runF, run func(context.Context, *O) error, o *O) error {
	if runF != nil {
		return runF(ctx, o)
	}
	return run(ctx, o)
}
