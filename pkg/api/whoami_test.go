package api_test

import (
	"context"
	"testing"
)

func TestWhoAmIAnswersWithTheKeysPrincipal(t *testing.T) {
	t.Parallel()
	s := newServer(t, nil)
	for key, want := range testKeys {
		got, err := s.remote(t, key).WhoAmI(context.Background())
		if err != nil {
			t.Errorf("%s: %v", want, err)
			continue
		}
		if got != want {
			t.Errorf("WhoAmI with the key of %s = %+v, want %+v", want, got, want)
		}
	}
	if _, err := s.remote(t, "not-a-key-0123456789").WhoAmI(context.Background()); err == nil {
		t.Error("WhoAmI with an unknown key answered")
	}
}
