package console

import (
	"slices"
	"testing"
	"time"

	"github.com/accessgraph/accessgraph/pkg/audit"
)

func TestSortRowsByExpiryPutsTheSoonestFirstAndNoExpiryLast(t *testing.T) {
	day := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	rows := []audit.ReviewRow{
		{Subject: "a"}, {Subject: "b", ExpiresAt: day.Add(48 * time.Hour)}, {Subject: "c"}, {Subject: "d", ExpiresAt: day},
	}
	if err := sortRows(rows, "expires"); err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, r := range rows {
		got = append(got, r.Subject)
	}
	if want := []string{"d", "b", "a", "c"}; !slices.Equal(got, want) {
		t.Errorf("sorted by expiry: %v, want %v", got, want)
	}
	if err := sortRows(rows, "nonsense"); err == nil {
		t.Error("an unknown column sorted")
	}
}
