package logging_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/accessgraph/accessgraph/pkg/cli/iostreams"
	"github.com/accessgraph/accessgraph/pkg/cli/logging"
)

// Console lines are coloured on a terminal unless NO_COLOR is set to any non-empty value;
// off a terminal lines are JSON, never coloured, whatever NO_COLOR says.
func TestColourFollowsTerminalAndNoColor(t *testing.T) {
	t.Parallel()
	tests := []struct {
		tty     bool
		noColor string
		colour  bool
	}{
		{true, "", true},
		{true, "1", false},
		{true, "true", false},
		{true, "0", false}, // no-color.org: any non-empty value, even "0"
		{true, "no", false},
		{false, "", false},
		{false, "1", false},
	}
	for _, tt := range tests {
		for _, level := range logging.Levels {
			ios, _, _, errOut := iostreams.Test()
			ios.SetStderrTTY(tt.tty)
			log, err := logging.New(ios, level, func(k string) string {
				if k == "NO_COLOR" {
					return tt.noColor
				}
				return ""
			})
			if err != nil {
				t.Fatal(err)
			}
			log.Error("disk full")
			_ = log.Sync()
			out := errOut.String()
			if got := strings.Contains(out, "\x1b["); got != tt.colour {
				t.Errorf("tty %v, NO_COLOR=%q, level %s: coloured %v, want %v: %q", tt.tty, tt.noColor, level, got, tt.colour, out)
			}
			if !strings.Contains(out, "ERROR") && tt.tty || !strings.Contains(out, "disk full") {
				t.Errorf("tty %v, NO_COLOR=%q: the line lacks its level or message: %q", tt.tty, tt.noColor, out)
			}
			if !tt.tty && json.Unmarshal([]byte(out), &map[string]any{}) != nil {
				t.Errorf("off a terminal the line is not JSON: %q", out)
			}
		}
	}
}
