package cmdutil

import (
	"errors"

	"github.com/accessgraph/accessgraph/pkg/cli/iostreams"
)

// ErrCancelled is a destructive change the person declined at the prompt.
var ErrCancelled = errors.New("cancelled")

// Confirm guards a destructive change: --yes goes ahead; on a terminal the person is asked;
// otherwise the change is refused with a usage error naming --yes.
func Confirm(ios *iostreams.IOStreams, yes bool, question, what string) error {
	if yes {
		return nil
	}
	if !ios.CanPrompt() {
		return Usagef("%s needs confirmation: pass --yes when not running interactively", what)
	}
	ok, err := ios.Confirm(question)
	if err != nil {
		return err
	}
	if !ok {
		return ErrCancelled
	}
	return nil
}
