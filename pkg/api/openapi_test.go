package api

import (
	"flag"
	"os"
	"testing"
)

var update = flag.Bool("update", false, "rewrite openapi.json from the protobuf descriptors")

func TestOpenAPIDocumentMatchesTheServices(t *testing.T) {
	want, err := generateOpenAPI()
	if err != nil {
		t.Fatal(err)
	}
	if *update {
		if err := os.WriteFile("openapi.json", want, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	got, err := os.ReadFile("openapi.json")
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != string(want) {
		t.Fatal("openapi.json is stale: run make proto")
	}
}
