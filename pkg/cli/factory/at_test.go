package factory_test

import (
	"strings"
	"testing"
	"time"

	"github.com/accessgraph/accessgraph/pkg/cli/factory"
)

func TestParseAt(t *testing.T) {
	now := time.Date(2026, 12, 5, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		in   string
		want time.Time
		err  string
	}{
		{"2026-11-01T09:30:00Z", time.Date(2026, 11, 1, 9, 30, 0, 0, time.UTC), ""},
		{"2026-11-01T10:30:00+01:00", time.Date(2026, 11, 1, 9, 30, 0, 0, time.UTC), ""},
		{"2026-11-01", time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC), ""},
		{"36h", now.Add(-36 * time.Hour), ""},
		{"90m", now.Add(-90 * time.Minute), ""},
		{"2026-12-05T12:00:00Z", time.Time{}, "not in the past"},
		{"2027-01-01", time.Time{}, "not in the past"},
		{"-2h", time.Time{}, "neither"},
		{"0s", time.Time{}, "neither"},
		{"yesterday", time.Time{}, "neither"},
		{"", time.Time{}, "neither"},
	}
	for _, tt := range tests {
		got, err := factory.ParseAt(tt.in, now)
		switch {
		case tt.err != "" && (err == nil || !contains(err.Error(), tt.err)):
			t.Errorf("ParseAt(%q) = %v, %v; want an error saying %q", tt.in, got, err, tt.err)
		case tt.err == "" && (err != nil || !got.Equal(tt.want)):
			t.Errorf("ParseAt(%q) = %v, %v; want %v", tt.in, got, err, tt.want)
		}
	}
}

func contains(s, sub string) bool { return strings.Contains(s, sub) }
