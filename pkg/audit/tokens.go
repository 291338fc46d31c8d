package audit

import (
	"encoding/base64"
	"math/big"
	"regexp"
	"strings"
	"time"

	v1 "github.com/authzed/authzed-go/proto/authzed/api/v1"
	implv1 "github.com/authzed/spicedb/pkg/proto/impl/v1"
	"github.com/authzed/spicedb/pkg/zedtoken"
	"google.golang.org/protobuf/proto"
)

// Revision tokens are opaque to SpiceDB clients, but History must know when it has caught
// up and when a change happened. The token carries the datastore's revision as text; its
// form tells the datastore apart:
//
//	memory        nanoseconds since 1970, a large integer ("1795432092757439790")
//	CockroachDB   a hybrid logical clock, nanoseconds.logical ("1795432092757439790.0000000001")
//	MySQL         a transaction id, a small integer
//	PostgreSQL    base64 of a snapshot (xmin, xmax, in-progress ids) with an optional timestamp
//
// Decimal revisions are ordered as numbers; PostgreSQL snapshots are not ordered here.

type revision struct {
	text   string
	prefix string // datastore unique id prefix
	hash   []byte // schema hash
}

func decodeToken(token string) (revision, bool) {
	d, err := zedtoken.Decode(&v1.ZedToken{Token: token})
	if err != nil || d.GetV1() == nil {
		return revision{}, false
	}
	return revision{text: d.GetV1().GetRevision(), prefix: d.GetV1().GetDatastoreUniqueIdPrefix(), hash: d.GetV1().GetSchemaHash()}, true
}

var decimalRevision = regexp.MustCompile(`^[0-9]+(\.[0-9]+)?$`)

// number returns a decimal revision as a number.
func (r revision) number() (*big.Float, bool) {
	if !decimalRevision.MatchString(r.text) {
		return nil, false
	}
	f, _, err := big.ParseFloat(r.text, 10, 200, big.ToNearestEven)
	return f, err == nil
}

// timestampLike reports a revision that is nanoseconds since 1970 (memory, CockroachDB).
func (r revision) timestampLike() bool {
	whole, _, _ := strings.Cut(r.text, ".")
	return decimalRevision.MatchString(r.text) && len(whole) >= 18
}

// compareTokens orders two tokens' revisions, when both are decimal.
func compareTokens(a, b string) (int, bool) {
	ra, ok1 := decodeToken(a)
	rb, ok2 := decodeToken(b)
	if !ok1 || !ok2 {
		return 0, false
	}
	na, ok1 := ra.number()
	nb, ok2 := rb.number()
	if !ok1 || !ok2 {
		return 0, false
	}
	return na.Cmp(nb), true
}

// tokenTime is when the revision was committed, when the token says.
func tokenTime(token string) (time.Time, bool) {
	r, ok := decodeToken(token)
	if !ok {
		return time.Time{}, false
	}
	if r.timestampLike() {
		whole, _, _ := strings.Cut(r.text, ".")
		n, ok := new(big.Int).SetString(whole, 10)
		if !ok || !n.IsInt64() {
			return time.Time{}, false
		}
		return time.Unix(0, n.Int64()).UTC(), true
	}
	raw, err := base64.StdEncoding.DecodeString(r.text)
	if err != nil {
		return time.Time{}, false
	}
	var pg implv1.PostgresRevision
	if proto.Unmarshal(raw, &pg) != nil || pg.GetOptionalTimestamp() == 0 {
		return time.Time{}, false
	}
	return time.Unix(0, int64(pg.GetOptionalTimestamp())).UTC(), true
}

// originToken is a token for the start of time on a datastore whose revisions are
// timestamps (memory), built from any token of that datastore: watching from it replays
// every change the datastore still holds. Other datastores have no such token.
func originToken(from string) (string, bool) {
	r, ok := decodeToken(from)
	if !ok || !r.timestampLike() || strings.Contains(r.text, ".") {
		return "", false
	}
	tok, err := zedtoken.Encode(&implv1.DecodedZedToken{VersionOneof: &implv1.DecodedZedToken_V1{
		V1: &implv1.DecodedZedToken_V1ZedToken{Revision: "0", DatastoreUniqueIdPrefix: r.prefix, SchemaHash: r.hash},
	}})
	if err != nil {
		return "", false
	}
	return tok.GetToken(), true
}
