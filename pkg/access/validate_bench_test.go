package access

import (
	"testing"

	"github.com/accessgraph/accessgraph/pkg/ref"
)

// BenchmarkCheckItemValidate measures the domain layer's own work per check item (the
// part of its overhead over raw SpiceDB calls that does not depend on the engine).
func BenchmarkCheckItemValidate(b *testing.B) {
	item := CheckItem{
		Subject:    ref.Subject{Object: ref.Object{Type: "user", ID: "u-1234-17"}},
		Permission: "view",
		Resource:   ref.Object{Type: "case", ID: "c-1234-5678"},
	}
	b.ReportAllocs()
	for b.Loop() {
		if err := item.validate(); err != nil {
			b.Fatal(err)
		}
	}
}
