package spice_test

import (
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/accessgraph/accessgraph/pkg/spice"
)

// Every change survives encoding as transaction metadata and decoding, whatever its text.
func TestChangeMetadataRoundTrip(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 1))
	alphabet := []rune("abc:#@ é\"\\\n{}")
	text := func() string {
		var b strings.Builder
		for range rng.IntN(12) {
			b.WriteRune(alphabet[rng.IntN(len(alphabet))])
		}
		return b.String()
	}
	for range 1000 {
		c := spice.Change{Actor: text(), Reason: text(), Operation: text(), Principal: text()}
		meta, err := c.Metadata()
		if err != nil {
			t.Fatal(err)
		}
		if got := spice.ChangeFromMetadata(meta.AsMap()); got != c {
			t.Fatalf("round trip %+v -> %+v", c, got)
		}
		if _, ok := meta.AsMap()[spice.KeyPrincipal]; ok != (c.Principal != "") {
			t.Fatalf("principal key present = %v for %+v", ok, c)
		}
	}
	if got := spice.ChangeFromMetadata(map[string]any{"actor": 7, "reason": "r"}); got != (spice.Change{Reason: "r"}) {
		t.Errorf("non-string values: %+v", got)
	}
}
