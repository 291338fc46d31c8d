// Package keys is the server's principal registry: bearer keys, stored only as hashes, as
// relationships of the internal accessgraph_server definitions in the same datastore as
// every other relationship, so they are as durable as the data they guard.
//
// A credential is the relationship
//
//	accessgraph_server/credential:HASH#KIND@accessgraph_server/principal:NAME
//
// where HASH is the hex SHA-256 of the key and KIND the principal's kind; an expiring key is
// an expiring relationship, so SpiceDB's own expiry ends it. A user principal is bound to its
// user by accessgraph_server/principal:NAME#acts_as@user:ID. Revoking deletes the
// relationship; every request reads the registry afresh, so the next request is refused.
package keys

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base32"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"regexp"
	"sort"
	"strings"
	"sync/atomic"
	"time"

	v1 "github.com/authzed/authzed-go/proto/authzed/api/v1"
	"google.golang.org/grpc"
	"google.golang.org/grpc/metadata"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/accessgraph/accessgraph/pkg/principal"
	"github.com/accessgraph/accessgraph/pkg/spice"
	"github.com/accessgraph/accessgraph/schema"
)

// The internal object types and relations of the registry.
const (
	CredentialType = schema.ServerPrefix + "credential"
	PrincipalType  = schema.ServerPrefix + "principal"
	ActsAs         = "acts_as"
)

// KeyPrefix starts every key the registry issues, so a leaked key is recognisable.
const KeyPrefix = "agk_"

// IDLength is how many hex characters of a key's hash name its credential in listings and
// history (48 bits: enough to tell keys apart, far too few to help guess one).
const IDLength = 12

// Server-issued keys: a registry write whose new credential is named IssuePlaceholder gets
// a key the server generates (so no client chooses a key), its hash in place of the
// placeholder, and the key back in the IssuedKeyHeader response header.
const (
	IssuePlaceholder = "issue"
	IssuedKeyHeader  = "x-accessgraph-issued-key"
)

// Operations the registry's writes carry in their change metadata.
const (
	OpCreate = "key.create"
	OpRevoke = "key.revoke"
	OpRotate = "key.rotate"
)

// Operations lists every operation a registry write may carry.
var Operations = []string{OpCreate, OpRevoke, OpRotate}

// Errors of the registry.
var (
	// ErrExists: a principal of that name already has a key.
	ErrExists = errors.New("principal already exists")
	// ErrNotFound: no principal or credential of that name or id.
	ErrNotFound = errors.New("no such principal or key")
	// ErrInvalid: a name, kind, user or expiry the registry refuses.
	ErrInvalid = errors.New("invalid principal")
)

var nameRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_-]{0,62}$`)

// CheckName refuses a principal name that is empty, too long (63 characters at most) or
// uses characters other than letters, digits, '-' and '_'.
func CheckName(name string) error {
	if !nameRE.MatchString(name) {
		return fmt.Errorf("%w: name %q: use 1 to 63 letters, digits, '-' or '_', starting with a letter or digit", ErrInvalid, name)
	}
	return nil
}

// Generate returns a new key: KeyPrefix and 32 random bytes in lowercase base32 (56
// characters), 256 bits of entropy.
func Generate() (string, error) { return generate(rand.Reader) }

func generate(r io.Reader) (string, error) {
	buf := make([]byte, 32)
	if _, err := io.ReadFull(r, buf); err != nil {
		return "", fmt.Errorf("generating a key: %w", err)
	}
	return KeyPrefix + strings.ToLower(base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString(buf)), nil
}

// Hash is the hex SHA-256 of key: the only form of a key the registry stores.
func Hash(key string) string {
	sum := sha256.Sum256([]byte(key))
	return hex.EncodeToString(sum[:])
}

// ID names the credential of a key hash in listings and history: its first IDLength
// characters.
func ID(hash string) string {
	if len(hash) < IDLength {
		return hash
	}
	return hash[:IDLength]
}

var hashRE = regexp.MustCompile(`^[0-9a-f]{64}$`)

// IsHash reports whether s has the form of a key hash (64 lowercase hex characters).
func IsHash(s string) bool { return hashRE.MatchString(s) }

// Registry reads and writes credentials through SpiceDB's permissions API. It holds no
// state of its own, so it is safe for concurrent use and always current. Writes reach the
// registry only through a connection the server lets write it: its own, or an operator's
// (whose writes the server checks have the registry's shape).
type Registry struct {
	client v1.PermissionsServiceClient
	now    func() time.Time
	// consistency, when set, is how reads are made (the engine's fresh reads, which see
	// every write the server has answered); fully consistent otherwise.
	consistency atomic.Pointer[func() *v1.Consistency]
}

// ReadWith makes the registry read at the consistency f returns. Fully consistent reads can
// miss a just-committed revocation while another request's head lookup is in flight
// (SpiceDB coalesces them); a read at least as fresh as the server's newest write cannot.
func (r *Registry) ReadWith(f func() *v1.Consistency) { r.consistency.Store(&f) }

// New returns a registry over client.
func New(client v1.PermissionsServiceClient) *Registry {
	return &Registry{client: client, now: time.Now}
}

// Resolve returns the principal key proves. An unknown, expired or revoked key is an error
// wrapping principal.ErrUnauthenticated. It reads fully consistently (or as ReadWith says), so a revocation takes
// effect on the next request.
func (r *Registry) Resolve(ctx context.Context, key string) (principal.Principal, error) {
	if key == "" {
		return principal.Principal{}, fmt.Errorf("%w: no key", principal.ErrUnauthenticated)
	}
	hash := Hash(key)
	rels, err := r.read(ctx, &v1.RelationshipFilter{ResourceType: CredentialType, OptionalResourceId: hash})
	if err != nil {
		return principal.Principal{}, fmt.Errorf("reading the key registry: %w", err)
	}
	now := r.now()
	for _, rel := range rels {
		p, ok := credentialOf(rel)
		if !ok || (!p.Expires.IsZero() && !now.Before(p.Expires)) {
			continue
		}
		if p.Kind == principal.User {
			if p.User, err = r.actsAs(ctx, p.Name); err != nil {
				return principal.Principal{}, err
			}
			if p.User == "" {
				continue
			}
		}
		return p, nil
	}
	return principal.Principal{}, fmt.Errorf("%w: unknown, expired or revoked key", principal.ErrUnauthenticated)
}

// credentialOf reads a credential relationship; false for anything else.
func credentialOf(rel *v1.Relationship) (principal.Principal, bool) {
	kind, err := principal.ParseKind(rel.GetRelation())
	if err != nil || rel.GetResource().GetObjectType() != CredentialType ||
		rel.GetSubject().GetObject().GetObjectType() != PrincipalType {
		return principal.Principal{}, false
	}
	p := principal.Principal{
		Name:         rel.GetSubject().GetObject().GetObjectId(),
		Kind:         kind,
		CredentialID: ID(rel.GetResource().GetObjectId()),
	}
	if exp := rel.GetOptionalExpiresAt(); exp != nil {
		p.Expires = exp.AsTime()
	}
	return p, true
}

func (r *Registry) actsAs(ctx context.Context, name string) (string, error) {
	rels, err := r.read(ctx, &v1.RelationshipFilter{ResourceType: PrincipalType, OptionalResourceId: name, OptionalRelation: ActsAs})
	if err != nil {
		return "", fmt.Errorf("reading the key registry: %w", err)
	}
	for _, rel := range rels {
		return rel.GetSubject().GetObject().GetObjectId(), nil
	}
	return "", nil
}

func (r *Registry) read(ctx context.Context, f *v1.RelationshipFilter) ([]*v1.Relationship, error) {
	// No page size: the registry is small, and a server's read limit must not lock its own
	// registry out.
	consistency := spice.FullyConsistent()
	if f := r.consistency.Load(); f != nil {
		consistency = (*f)()
	}
	stream, err := r.client.ReadRelationships(ctx, &v1.ReadRelationshipsRequest{Consistency: consistency, RelationshipFilter: f})
	if err != nil {
		return nil, spice.Classify("reading relationships", err)
	}
	var out []*v1.Relationship
	for {
		resp, err := stream.Recv()
		if errors.Is(err, io.EOF) {
			return out, nil
		}
		if err != nil {
			return nil, spice.Classify("reading relationships", err)
		}
		out = append(out, resp.GetRelationship())
	}
}

// credential is one stored credential with its full hash.
type credential struct {
	principal.Principal
	hash string
	rel  *v1.Relationship
}

func (r *Registry) credentials(ctx context.Context, filter *v1.RelationshipFilter) ([]credential, error) {
	rels, err := r.read(ctx, filter)
	if err != nil {
		return nil, fmt.Errorf("reading the key registry: %w", err)
	}
	var out []credential
	for _, rel := range rels {
		if p, ok := credentialOf(rel); ok {
			out = append(out, credential{Principal: p, hash: rel.GetResource().GetObjectId(), rel: rel})
		}
	}
	return out, nil
}

// List returns every principal with a key, sorted by name, with its credential id and
// expiry; never a key or a full hash. Expired keys are not listed.
func (r *Registry) List(ctx context.Context) ([]principal.Principal, error) {
	creds, err := r.credentials(ctx, &v1.RelationshipFilter{ResourceType: CredentialType})
	if err != nil {
		return nil, err
	}
	bound, err := r.read(ctx, &v1.RelationshipFilter{ResourceType: PrincipalType, OptionalRelation: ActsAs})
	if err != nil {
		return nil, fmt.Errorf("reading the key registry: %w", err)
	}
	users := map[string]string{}
	for _, rel := range bound {
		users[rel.GetResource().GetObjectId()] = rel.GetSubject().GetObject().GetObjectId()
	}
	now := r.now()
	out := make([]principal.Principal, 0, len(creds))
	for _, c := range creds {
		if !c.Expires.IsZero() && !now.Before(c.Expires) {
			continue
		}
		p := c.Principal
		if p.Kind == principal.User {
			p.User = users[p.Name]
		}
		out = append(out, p)
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Name != out[j].Name {
			return out[i].Name < out[j].Name
		}
		return out[i].CredentialID < out[j].CredentialID
	})
	return out, nil
}

// HasKind reports whether any unexpired key of the kind exists.
func (r *Registry) HasKind(ctx context.Context, kind principal.Kind) (bool, error) {
	creds, err := r.credentials(ctx, &v1.RelationshipFilter{ResourceType: CredentialType, OptionalRelation: string(kind)})
	if err != nil {
		return false, err
	}
	now := r.now()
	for _, c := range creds {
		if c.Expires.IsZero() || now.Before(c.Expires) {
			return true, nil
		}
	}
	return false, nil
}

// Create issues a new key for a new principal p (Name, Kind, User for a user principal,
// Expires or zero for never) and returns the key, which is shown once and never stored.
// The server generates the key: no client chooses one.
// A principal of that name that already has a key is ErrExists.
func (r *Registry) Create(ctx context.Context, p principal.Principal) (string, principal.Principal, error) {
	return r.put(ctx, p, "", OpCreate, nil)
}

// Put makes key the one key of principal p, replacing (revoking) any key it had: for a key
// configured outside the registry, such as a server's preshared key.
func (r *Registry) Put(ctx context.Context, p principal.Principal, key string) (principal.Principal, error) {
	old, err := r.credentials(ctx, &v1.RelationshipFilter{ResourceType: CredentialType, OptionalSubjectFilter: &v1.SubjectFilter{SubjectType: PrincipalType, OptionalSubjectId: p.Name}})
	if err != nil {
		return principal.Principal{}, err
	}
	for _, c := range old {
		if c.hash == Hash(key) && c.Kind == p.Kind && c.Expires.Equal(p.Expires) {
			return c.Principal, nil // already in place: nothing to write
		}
	}
	_, p, err = r.put(ctx, p, key, OpRotate, old)
	return p, err
}

// Rotate issues a new key for the existing principal name and revokes its old ones in the
// same write. The new key keeps the principal's kind and user; it expires at expires, or
// when the old key did when expires is zero.
func (r *Registry) Rotate(ctx context.Context, name string, expires time.Time) (string, principal.Principal, error) {
	old, err := r.credentials(ctx, &v1.RelationshipFilter{ResourceType: CredentialType, OptionalSubjectFilter: &v1.SubjectFilter{SubjectType: PrincipalType, OptionalSubjectId: name}})
	if err != nil {
		return "", principal.Principal{}, err
	}
	if len(old) == 0 {
		return "", principal.Principal{}, fmt.Errorf("%w: %q (accessctl key list shows the principals)", ErrNotFound, name)
	}
	p := old[0].Principal
	if p.Kind == principal.User {
		if p.User, err = r.actsAs(ctx, name); err != nil {
			return "", principal.Principal{}, err
		}
	}
	if !expires.IsZero() {
		p.Expires = expires
	}
	return r.put(ctx, p, "", OpRotate, old)
}

// put writes a credential for p: for key, or, when key is empty, for a key the server
// issues (IssuePlaceholder), returned from the write's response header.
func (r *Registry) put(ctx context.Context, p principal.Principal, key, op string, replace []credential) (string, principal.Principal, error) {
	if err := r.check(p); err != nil {
		return "", principal.Principal{}, err
	}
	hash := IssuePlaceholder
	if key != "" {
		hash = Hash(key)
	}
	rel := &v1.Relationship{
		Resource: &v1.ObjectReference{ObjectType: CredentialType, ObjectId: hash},
		Relation: string(p.Kind),
		Subject:  &v1.SubjectReference{Object: &v1.ObjectReference{ObjectType: PrincipalType, ObjectId: p.Name}},
	}
	if !p.Expires.IsZero() {
		rel.OptionalExpiresAt = timestamppb.New(p.Expires)
	}
	updates := []*v1.RelationshipUpdate{{Operation: v1.RelationshipUpdate_OPERATION_CREATE, Relationship: rel}}
	for _, c := range replace {
		updates = append(updates, &v1.RelationshipUpdate{Operation: v1.RelationshipUpdate_OPERATION_DELETE, Relationship: c.rel})
	}
	if p.Kind == principal.User {
		updates = append(updates, &v1.RelationshipUpdate{Operation: v1.RelationshipUpdate_OPERATION_TOUCH, Relationship: &v1.Relationship{
			Resource: &v1.ObjectReference{ObjectType: PrincipalType, ObjectId: p.Name},
			Relation: ActsAs,
			Subject:  &v1.SubjectReference{Object: &v1.ObjectReference{ObjectType: "user", ObjectId: p.User}},
		}})
	}
	req := &v1.WriteRelationshipsRequest{Updates: updates}
	if op == OpCreate {
		req.OptionalPreconditions = []*v1.Precondition{{
			Operation: v1.Precondition_OPERATION_MUST_NOT_MATCH,
			Filter:    &v1.RelationshipFilter{ResourceType: CredentialType, OptionalSubjectFilter: &v1.SubjectFilter{SubjectType: PrincipalType, OptionalSubjectId: p.Name}},
		}}
	}
	var header metadata.MD
	if err := r.write(ctx, req, op, p, grpc.Header(&header)); err != nil {
		if errors.Is(err, spice.ErrConflict) {
			return "", principal.Principal{}, fmt.Errorf("%w: %q (revoke it first, or rotate its key)", ErrExists, p.Name)
		}
		return "", principal.Principal{}, err
	}
	if key == "" {
		issued := header.Get(IssuedKeyHeader)
		if len(issued) != 1 || !strings.HasPrefix(issued[0], KeyPrefix) {
			return "", principal.Principal{}, fmt.Errorf("writing the key registry: the server issued no key (is it an accessgraph server?)")
		}
		key = issued[0]
	}
	p.CredentialID = ID(Hash(key))
	return key, p, nil
}

func (r *Registry) check(p principal.Principal) error {
	if err := CheckName(p.Name); err != nil {
		return err
	}
	if _, err := principal.ParseKind(string(p.Kind)); err != nil {
		return fmt.Errorf("%w: %v", ErrInvalid, err)
	}
	switch {
	case p.Kind == principal.User && p.User == "":
		return fmt.Errorf("%w: a user principal needs the user it acts as", ErrInvalid)
	case p.Kind != principal.User && p.User != "":
		return fmt.Errorf("%w: only a user principal is bound to a user", ErrInvalid)
	case !p.Expires.IsZero() && !r.now().Before(p.Expires):
		return fmt.Errorf("%w: expiry %s is in the past", ErrInvalid, p.Expires.Format(time.RFC3339))
	}
	return nil
}

// Revoke deletes every key of the principal named nameOrID, or the one credential whose id
// (or a prefix of at least 6 characters of it) is nameOrID, and returns what was revoked.
func (r *Registry) Revoke(ctx context.Context, nameOrID string) ([]principal.Principal, error) {
	all, err := r.credentials(ctx, &v1.RelationshipFilter{ResourceType: CredentialType})
	if err != nil {
		return nil, err
	}
	var hit []credential
	for _, c := range all {
		if c.Name == nameOrID {
			hit = append(hit, c)
		}
	}
	if len(hit) == 0 && len(nameOrID) >= 6 {
		for _, c := range all {
			if strings.HasPrefix(c.hash, strings.ToLower(nameOrID)) {
				hit = append(hit, c)
			}
		}
		if len(hit) > 1 {
			return nil, fmt.Errorf("%w: id %q matches %d keys: give more of it", ErrInvalid, nameOrID, len(hit))
		}
	}
	if len(hit) == 0 {
		return nil, fmt.Errorf("%w: %q (accessctl key list shows the principals)", ErrNotFound, nameOrID)
	}
	updates := make([]*v1.RelationshipUpdate, 0, len(hit))
	out := make([]principal.Principal, 0, len(hit))
	for _, c := range hit {
		updates = append(updates, &v1.RelationshipUpdate{Operation: v1.RelationshipUpdate_OPERATION_DELETE, Relationship: c.rel})
		out = append(out, c.Principal)
	}
	if err := r.write(ctx, &v1.WriteRelationshipsRequest{Updates: updates}, OpRevoke, hit[0].Principal); err != nil {
		return nil, err
	}
	return out, nil
}

func (r *Registry) write(ctx context.Context, req *v1.WriteRelationshipsRequest, op string, p principal.Principal, opts ...grpc.CallOption) error {
	actor := ""
	if caller, ok := principal.FromContext(ctx); ok {
		actor = caller.String()
	}
	meta, err := spice.Change{Actor: actor, Operation: op, Reason: "key " + p.String()}.Metadata()
	if err != nil {
		return err
	}
	req.OptionalTransactionMetadata = meta
	_, err = r.client.WriteRelationships(ctx, req, opts...)
	return spice.Classify("writing the key registry", err)
}
