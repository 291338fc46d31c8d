package api_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"sync"
	"testing"

	"connectrpc.com/connect"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"

	"github.com/accessgraph/accessgraph/pkg/access"
	"github.com/accessgraph/accessgraph/pkg/api"
	apiv1 "github.com/accessgraph/accessgraph/pkg/api/gen/accessgraph/v1"
	"github.com/accessgraph/accessgraph/pkg/api/gen/accessgraph/v1/apiv1connect"
	"github.com/accessgraph/accessgraph/pkg/principal"
	"github.com/accessgraph/accessgraph/pkg/ref"
)

// HTTP/JSON (a plain POST with a JSON body) and gRPC give the same answers and the same
// errors.
func TestHTTPJSONAnswersLikeGRPC(t *testing.T) {
	s := newServer(t, nil)
	seed(t, s.embedded)
	h2c := &http.Client{Transport: &http.Transport{Protocols: func() *http.Protocols {
		p := new(http.Protocols)
		p.SetUnencryptedHTTP2(true)
		return p
	}()}}
	auth := connect.WithInterceptors(connect.UnaryInterceptorFunc(func(next connect.UnaryFunc) connect.UnaryFunc {
		return func(ctx context.Context, r connect.AnyRequest) (connect.AnyResponse, error) {
			r.Header().Set("Authorization", "Bearer "+operatorKey)
			return next(ctx, r)
		}
	}))
	acc := apiv1connect.NewAccessServiceClient(h2c, s.url, connect.WithGRPC(), auth)
	aud := apiv1connect.NewAuditServiceClient(h2c, s.url, connect.WithGRPC(), auth)
	ctx := context.Background()

	cases := []struct {
		procedure string
		req       proto.Message
		grpc      func() (proto.Message, error)
		resp      proto.Message
	}{
		{
			apiv1connect.AccessServiceCheckProcedure,
			&apiv1.CheckRequest{Subject: "user:pam", Permission: "view", Resource: "case:42", Consistency: "full"},
			func() (proto.Message, error) {
				r, err := acc.Check(ctx, connect.NewRequest(&apiv1.CheckRequest{Subject: "user:pam", Permission: "view", Resource: "case:42", Consistency: "full"}))
				return msgOf(r, err)
			},
			&apiv1.CheckResponse{},
		},
		{
			apiv1connect.AccessServiceMembersProcedure,
			&apiv1.MembersRequest{Actor: "user:bill", Account: "account:acme"},
			func() (proto.Message, error) {
				r, err := acc.Members(ctx, connect.NewRequest(&apiv1.MembersRequest{Actor: "user:bill", Account: "account:acme"}))
				return msgOf(r, err)
			},
			&apiv1.MembersResponse{},
		},
		{
			apiv1connect.AccessServiceLookupResourcesProcedure,
			&apiv1.LookupResourcesRequest{Subject: "user:sally", Permission: "view", ResourceType: "case"},
			func() (proto.Message, error) {
				r, err := acc.LookupResources(ctx, connect.NewRequest(&apiv1.LookupResourcesRequest{Subject: "user:sally", Permission: "view", ResourceType: "case"}))
				return msgOf(r, err)
			},
			&apiv1.ObjectsResponse{},
		},
		{
			apiv1connect.AuditServiceWhoCanProcedure,
			&apiv1.WhoCanRequest{Resource: "case:42", Permission: "view"},
			func() (proto.Message, error) {
				r, err := aud.WhoCan(ctx, connect.NewRequest(&apiv1.WhoCanRequest{Resource: "case:42", Permission: "view"}))
				return msgOf(r, err)
			},
			&apiv1.WhoCanResponse{},
		},
		{
			apiv1connect.AccessServiceApproveProcedure,
			&apiv1.ApproveRequest{Actor: "user:pam", Account: "account:acme", User: "user:joan"},
			func() (proto.Message, error) {
				r, err := acc.Approve(ctx, connect.NewRequest(&apiv1.ApproveRequest{Actor: "user:pam", Account: "account:acme", User: "user:joan"}))
				return msgOf(r, err)
			},
			&apiv1.WriteResponse{},
		},
	}
	for _, tc := range cases {
		t.Run(tc.procedure, func(t *testing.T) {
			body, err := protojson.Marshal(tc.req)
			if err != nil {
				t.Fatal(err)
			}
			status, b, we := postJSON(t, s.url, tc.procedure, operatorKey, body)
			want, gerr := tc.grpc()
			if gerr != nil {
				var ce *connect.Error
				if !errors.As(gerr, &ce) {
					t.Fatal(gerr)
				}
				if status == http.StatusOK || we.Code != ce.Code().String() || we.Message != ce.Message() {
					t.Fatalf("HTTP/JSON %d %s %q; gRPC %s %q", status, we.Code, we.Message, ce.Code(), ce.Message())
				}
				return
			}
			if status != http.StatusOK {
				t.Fatalf("HTTP/JSON %d %s; gRPC succeeded", status, b)
			}
			if err := protojson.Unmarshal(b, tc.resp); err != nil {
				t.Fatal(err)
			}
			if !proto.Equal(tc.resp, want) {
				t.Fatalf("HTTP/JSON %v\ngRPC      %v", tc.resp, want)
			}
		})
	}
}

func msgOf[T any](r *connect.Response[T], err error) (proto.Message, error) {
	if err != nil {
		return nil, err
	}
	return any(r.Msg).(proto.Message), nil
}

// The JSON form accepts the documented curl request and answers in the public vocabulary.
func TestHTTPJSONCheckWithCurlBody(t *testing.T) {
	s := newServer(t, nil)
	seed(t, s.embedded)
	status, b, we := postJSON(t, s.url, "/accessgraph.v1.AccessService/Check", operatorKey,
		[]byte(`{"subject": "user:bill", "permission": "view_all_cases", "resource": "account:acme"}`))
	if status != http.StatusOK {
		t.Fatalf("%d %v", status, we)
	}
	var got map[string]any
	if err := json.Unmarshal(b, &got); err != nil {
		t.Fatal(err)
	}
	if got["allowed"] != true || got["checkedAt"] == "" {
		t.Fatalf("answer %s", b)
	}
	status, _, we = postJSON(t, s.url, "/accessgraph.v1.AccessService/CreateGroup", auditorKey, []byte(`{"actor": "user:vera", "group": "group:x"}`))
	if status != http.StatusForbidden || we.reason() != string(api.ReasonForbidden) {
		t.Fatalf("auditor write: %d %s %s", status, we.reason(), we.Message)
	}
}

func TestOpenAPIDocumentIsServed(t *testing.T) {
	s := newServer(t, nil)
	resp, err := http.Get(s.url + api.OpenAPIPath)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	var doc struct {
		OpenAPI string         `json:"openapi"`
		Paths   map[string]any `json:"paths"`
	}
	if err := json.Unmarshal(b, &doc); err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != "application/json" || doc.OpenAPI == "" {
		t.Fatalf("%d %s %q", resp.StatusCode, resp.Header.Get("Content-Type"), doc.OpenAPI)
	}
	for procedure := range api.Rules {
		if doc.Paths[procedure] == nil {
			t.Errorf("openapi.json has no path %s", procedure)
		}
	}
}

// recording is the domain layer, noting the principal each change arrives with.
type recording struct {
	access.Service
	mu   sync.Mutex
	seen []string
}

func (r *recording) CreateGroup(ctx context.Context, actor access.Actor, groupID string) (access.Token, error) {
	p, _ := principal.FromContext(ctx)
	r.mu.Lock()
	r.seen = append(r.seen, p.String()+" as "+actor.User)
	r.mu.Unlock()
	return r.Service.CreateGroup(ctx, actor, groupID)
}

// The domain layer receives the caller's principal in its context (for the change
// metadata), and a user key's implied actor is its user.
func TestThePrincipalReachesTheDomainLayer(t *testing.T) {
	var rec *recording
	s := newServer(t, func(svc access.Service) access.Service { rec = &recording{Service: svc}; return rec })
	seed(t, s.embedded)
	ctx := context.Background()
	if _, err := s.remote(t, operatorKey).CreateGroup(ctx, access.As("vera"), "g1"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.remote(t, serviceKey).CreateGroup(ctx, access.As("vera"), "g2"); err != nil {
		t.Fatal(err)
	}
	_, err := s.remote(t, userKey).CreateGroup(ctx, access.Actor{}, "g3")
	var denied *access.DeniedError
	if !errors.As(err, &denied) || denied.Actor != (ref.Object{Type: "user", ID: "bill"}) {
		t.Fatalf("bill creating a group: %v; want a refusal by the access rules naming user:bill", err)
	}
	want := []string{"operator:ops as vera", "service:portal as vera", "user:bill as bill"}
	if len(rec.seen) != len(want) {
		t.Fatalf("seen %q, want %q", rec.seen, want)
	}
	for i := range want {
		if rec.seen[i] != want[i] {
			t.Errorf("seen %q, want %q", rec.seen[i], want[i])
		}
	}
}

// A user key acts as its user only, and its user's actions are still authorised by the
// access rules: bill administers acme, not globex.
func TestUserKeyIsBoundByTheAccessRules(t *testing.T) {
	s := newServer(t, nil)
	seed(t, s.embedded)
	ctx := context.Background()
	bill := s.remote(t, userKey)
	if _, err := bill.RequestAccess(ctx, access.As("joan"), "acme", access.RoleViewer); !errors.Is(err, principal.ErrPermissionDenied) {
		t.Fatalf("bill acting as joan: %v", err)
	}
	if _, err := s.embedded.RequestAccess(ctx, access.As("joan"), "globex", access.RoleViewer); err != nil {
		t.Fatal(err)
	}
	if _, err := bill.Approve(ctx, access.Actor{}, "globex", "joan"); !errors.Is(err, access.ErrPermissionDenied) {
		t.Fatalf("bill approving on globex: %v", err)
	}
	members, err := all(bill.Members(ctx, access.As("bill"), "acme"))
	if err != nil || len(members) != 2 {
		t.Fatalf("bill's members of acme: %v %v", members, err)
	}
	if _, err := bill.Check(ctx, ref.Subject{Object: ref.Object{Type: "user", ID: "sally"}}, "view", ref.Object{Type: "case", ID: "42"}, access.Fresh()); !errors.Is(err, principal.ErrPermissionDenied) {
		t.Fatalf("bill checking sally: %v", err)
	}
	if _, err := s.remote(t, "wrong-key-0123456789").CustomRoles(ctx); !errors.Is(err, principal.ErrUnauthenticated) {
		t.Fatalf("unknown key: %v", err)
	}
}
