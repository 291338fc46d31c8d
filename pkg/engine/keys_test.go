package engine_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/accessgraph/accessgraph/pkg/engine"
)

func TestCheckKeyLengths(t *testing.T) {
	t.Parallel()
	for n := 0; n <= 64; n++ {
		for _, unit := range []string{"Q", "é", "鍵"} {
			key := strings.Repeat(unit, n)
			err := engine.CheckKey(key)
			if (n < engine.MinKeyLength) != errors.Is(err, engine.ErrWeakKey) {
				t.Errorf("CheckKey of %d × %q: %v; want refused exactly below %d characters", n, unit, err, engine.MinKeyLength)
			}
			if err != nil && (!strings.Contains(err.Error(), "openssl rand -hex 24") || (n > 0 && strings.Contains(err.Error(), key))) {
				t.Errorf("CheckKey of %d × %q: %q; want the advice and no key", n, unit, err)
			}
		}
	}
}

func TestStartEmbeddedRefusesAShortKey(t *testing.T) {
	t.Parallel()
	for _, key := range []string{"x", "short-key", "fifteen-chars!!"} {
		if _, err := engine.StartEmbedded(context.Background(), engine.EmbeddedConfig{PresharedKey: key}); !errors.Is(err, engine.ErrWeakKey) {
			t.Errorf("StartEmbedded with a %d-character key: %v; want ErrWeakKey", len(key), err)
		}
	}
}
