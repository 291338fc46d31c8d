package engine

import (
	"runtime/debug"
	"sync"

	"github.com/jzelinskie/cobrautil/v2"
)

// spiceDBModule is the module path of the SpiceDB this binary links.
const spiceDBModule = "github.com/authzed/spicedb"

// SpiceDBVersion is the version of the SpiceDB module linked into this binary (for example
// "v1.57.1"), read from the build information, or "unknown" when the binary carries none.
func SpiceDBVersion() string {
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, dep := range bi.Deps {
			if dep.Path == spiceDBModule {
				if dep.Replace != nil && dep.Replace.Version != "" {
					return dep.Replace.Version
				}
				return dep.Version
			}
		}
	}
	return "unknown"
}

var reportVersionOnce sync.Once

// reportSpiceDBVersion makes the embedded server report the SpiceDB release it runs to
// clients that ask (zed and authzed-go request it with a header). SpiceDB answers with
// cobrautil.Version, falling back to the main module's version: without this, an
// embedding program's "(devel)" or commit, which clients flag as an unreleased SpiceDB.
func reportSpiceDBVersion() {
	reportVersionOnce.Do(func() {
		if v := SpiceDBVersion(); cobrautil.Version == "" && v != "unknown" {
			cobrautil.Version = v
		}
	})
}
