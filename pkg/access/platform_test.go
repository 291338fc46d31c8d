package access_test

import (
	"testing"

	"github.com/accessgraph/accessgraph/pkg/access"
)

func TestRolloutGatesDownloadsAndFullReleaseIsOneChange(t *testing.T) {
	t.Parallel()
	w := acme(t)
	w.expect(no("bill", "download_software", "account:acme"), no("sally", "generate_license_key", "account:acme"))
	w.must(w.c.AddRolloutParticipant(w.ctx, access.As(vendorAdmin), "entitlement_view", "bill"))
	w.expect(yes("bill", "download_software", "account:acme"), no("sally", "download_software", "account:acme"))
	w.must(w.c.ReleaseToEveryone(w.ctx, access.As(vendorAdmin), "entitlement_view", true))
	w.expect(yes("sally", "download_software", "account:acme"), no("joan", "download_software", "account:acme"))
	// Only the vendor can release; a site admin cannot.
	w.refuse(access.ErrPermissionDenied)(w.c.ReleaseToEveryone(w.ctx, access.As("bill"), "entitlement_view", false))
	w.must(w.c.ReleaseToEveryone(w.ctx, access.As(vendorAdmin), "entitlement_view", false))
	w.expect(yes("bill", "download_software", "account:acme"), no("sally", "download_software", "account:acme"))
}
