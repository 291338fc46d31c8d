package serve

import (
	"github.com/accessgraph/accessgraph/pkg/cli/cmdutil"
	"github.com/accessgraph/accessgraph/pkg/cli/factory"
	"github.com/accessgraph/accessgraph/pkg/engine"
)

// givenKey is the preshared key given with --token, else ACCESSCTL_TOKEN ("" when neither),
// refused as a usage error naming its source when it is too short.
func givenKey(f *factory.Factory) (string, error) {
	key, source := f.Flags.Token, "--token"
	if key == "" {
		key, source = f.Getenv(factory.EnvToken), factory.EnvToken
	}
	if key == "" {
		return "", nil
	}
	if err := engine.CheckKey(key); err != nil {
		return "", cmdutil.Usagef("the key from %s: %v", source, err)
	}
	return key, nil
}
