package factory

import (
	"time"

	"github.com/spf13/cobra"

	"github.com/accessgraph/accessgraph/pkg/access"
	"github.com/accessgraph/accessgraph/pkg/audit"
	"github.com/accessgraph/accessgraph/pkg/cli/cmdutil"
)

// BindAt adds --at and --at-revision to a command that asks questions: the answer is then
// as the access graph stood at that past time, or just after the change with that
// revision, rebuilt by the server from its durable audit log. The value is parsed before
// the command runs, into f.At.
func BindAt(cmd *cobra.Command, f *Factory) {
	var at, rev string
	cmd.Flags().StringVar(&at, "at", "", "answer as of this past time, from the server's audit log: RFC 3339 (2026-11-01T09:00:00Z), a date (2026-11-01, midnight UTC) or a duration ago (36h)")
	cmd.Flags().StringVar(&rev, "at-revision", "", "answer as the graph stood just after the change with this revision token (as history lists it), from the server's audit log")
	inner := cmd.PreRunE
	cmd.PreRunE = func(cmd *cobra.Command, args []string) error {
		if at != "" {
			t, err := ParseAt(at, f.Now())
			if err != nil {
				return err
			}
			f.At = audit.At(t)
		}
		if rev != "" {
			if at != "" {
				return cmdutil.Usagef("--at and --at-revision name two moments: give one")
			}
			f.At = audit.AtRevision(access.Token(rev))
		}
		if inner != nil {
			return inner(cmd, args)
		}
		return nil
	}
}

// ParseAt reads a past time (see ParseTime); a time that is not in the past is a usage
// error.
func ParseAt(s string, now time.Time) (time.Time, error) {
	t, err := ParseTime("--at", s, now)
	if err != nil {
		return time.Time{}, err
	}
	if !t.Before(now) {
		return time.Time{}, cmdutil.Usagef("--at %s is not in the past: leave --at out for the present", s)
	}
	return t, nil
}

// ParseTime reads the value of flag as a time: RFC 3339, a date (midnight UTC), or a
// positive duration ago.
func ParseTime(flag, s string, now time.Time) (time.Time, error) {
	if v, err := time.Parse(time.RFC3339, s); err == nil {
		return v, nil
	}
	if v, err := time.Parse(time.DateOnly, s); err == nil {
		return v, nil
	}
	if d, err := time.ParseDuration(s); err == nil && d > 0 {
		return now.Add(-d), nil
	}
	return time.Time{}, cmdutil.Usagef("%s %q is neither an RFC 3339 time (2026-11-01T09:00:00Z), a date (2026-11-01) nor a positive duration ago (36h)", flag, s)
}
