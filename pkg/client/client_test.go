package client_test

import (
	"errors"
	"testing"

	"github.com/accessgraph/accessgraph/pkg/access"
	"github.com/accessgraph/accessgraph/pkg/client"
)

func TestNewRefusesPlaintextOffLoopbackAndMissingKeys(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		url  string
		key  string
		opts []client.Option
		ok   bool
	}{
		{"http://127.0.0.1:50052", "k", nil, true},
		{"http://[::1]:50052", "k", nil, true},
		{"http://localhost:50052", "k", nil, true},
		{"https://access.example:50052", "k", nil, true},
		{"http://access.example:50052", "k", nil, false},
		{"http://access.example:50052", "k", []client.Option{client.WithPlaintext()}, true},
		{"http://0.0.0.0:50052", "k", nil, false},
		{"ftp://127.0.0.1", "k", nil, false},
		{"https://access.example:50052", "", nil, false},
	} {
		_, err := client.New(tc.url, tc.key, tc.opts...)
		if tc.ok != (err == nil) || (err != nil && !errors.Is(err, access.ErrInvalidArgument)) {
			t.Errorf("New(%q, %q): %v", tc.url, tc.key, err)
		}
	}
}
