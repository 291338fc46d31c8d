package cmdutil

import (
	"fmt"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/accessgraph/accessgraph/pkg/access"
	"github.com/accessgraph/accessgraph/pkg/ref"
)

// The Args validators ExactArgs, RangeArgs and MinArgs return a *UsageError, where cobra's
// own validators return plain errors: every command uses one of them, or
// cobra.ArbitraryArgs with GroupRun on a command that groups subcommands.

// ExactArgs requires n positional arguments, named in the message when they are missing.
func ExactArgs(n int, names ...string) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		if len(args) == n {
			return nil
		}
		if len(args) < n && len(names) == n {
			return Usagef("%s: missing %s (usage: %s)", cmd.CommandPath(), strings.Join(names[len(args):], " "), cmd.UseLine())
		}
		return Usagef("%s takes %d argument(s), got %d (usage: %s)", cmd.CommandPath(), n, len(args), cmd.UseLine())
	}
}

// RangeArgs requires between lo and hi positional arguments.
func RangeArgs(lo, hi int) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		if len(args) >= lo && len(args) <= hi {
			return nil
		}
		return Usagef("%s takes %d to %d arguments, got %d (usage: %s)", cmd.CommandPath(), lo, hi, len(args), cmd.UseLine())
	}
}

// MinArgs requires at least n positional arguments.
func MinArgs(n int, what string) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		if len(args) >= n {
			return nil
		}
		return Usagef("%s: missing %s (usage: %s)", cmd.CommandPath(), what, cmd.UseLine())
	}
}

// GroupRun is the RunE of a command that only groups subcommands: with no argument it
// prints help, with an unknown one it is a usage error (cobra would print help and exit 0).
func GroupRun(cmd *cobra.Command, args []string) error {
	if len(args) > 0 {
		return Usagef("unknown command %q for %q%s", args[0], cmd.CommandPath(), suggestCommand(cmd, args[0]))
	}
	return cmd.Help()
}

func suggestCommand(cmd *cobra.Command, name string) string {
	if cmd.SuggestionsMinimumDistance <= 0 {
		cmd.SuggestionsMinimumDistance = 2
	}
	if s := cmd.SuggestionsFor(name); len(s) > 0 {
		return fmt.Sprintf("; did you mean %q?", s[0])
	}
	return ""
}

// ParseObject reads TYPE:ID as a usage error when malformed.
func ParseObject(s string) (ref.Object, error) {
	o, err := ref.Parse(s)
	return o, AsUsage(err)
}

// ParseOfType reads TYPE:ID and requires the type; returns the id.
func ParseOfType(s, typ string) (string, error) {
	o, err := ref.ParseOfType(s, typ)
	if err != nil {
		return "", AsUsage(err)
	}
	return o.ID, nil
}

// ParseSubject reads TYPE:ID or TYPE:ID#RELATION as a usage error when malformed.
func ParseSubject(s string) (ref.Subject, error) {
	sub, err := ref.ParseSubject(s)
	return sub, AsUsage(err)
}

// ValidatePermission checks that typ has the permission, suggesting the closest name.
func ValidatePermission(typ, permission string) error {
	err := ref.ValidatePermission(typ, permission)
	if err == nil {
		return nil
	}
	if hint := SuggestPermission(typ, permission); hint != "" {
		return Usagef("%s has no permission %q; did you mean %q?", typ, permission, hint)
	}
	return AsUsage(err)
}

// ParseExpiry reads an expiry as an RFC 3339 time (2025-07-01T00:00:00Z) or a duration
// from now (72h, 30m), which must be in the future. Empty means no expiry.
func ParseExpiry(s string, now time.Time) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	// A time or a duration that is not in the future is the same mistake, reported the same
	// way (a usage error) before any server call.
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		if !t.After(now) {
			return time.Time{}, Usagef("--expires %s is not in the future: give a later time, or a duration from now such as 72h", s)
		}
		return t, nil
	}
	if d, err := time.ParseDuration(s); err == nil {
		if d <= 0 {
			return time.Time{}, Usagef("--expires %s is not in the future: give a positive duration such as 72h, or a later time", s)
		}
		return now.Add(d), nil
	}
	return time.Time{}, Usagef("--expires %q is neither an RFC 3339 time (2025-07-01T00:00:00Z) nor a duration (72h)", s)
}

// ParseOnOff reads on/off (also true/false, yes/no, enable/disable).
func ParseOnOff(s string) (bool, error) {
	switch strings.ToLower(s) {
	case "on", "true", "yes", "enable", "enabled":
		return true, nil
	case "off", "false", "no", "disable", "disabled":
		return false, nil
	}
	return false, Usagef("%q is not on or off", s)
}

// ParseRole reads a site role as a usage error when unknown.
func ParseRole(s string) (access.Role, error) {
	r, err := access.ParseRole(s)
	return r, AsUsage(err)
}

// ParseLevel reads a partner level as a usage error when unknown.
func ParseLevel(s string) (access.Level, error) {
	l, err := access.ParseLevel(s)
	return l, AsUsage(err)
}
