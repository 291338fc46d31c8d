package api_test

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/reflect/protoregistry"

	"github.com/accessgraph/accessgraph/pkg/api"
	apiv1 "github.com/accessgraph/accessgraph/pkg/api/gen/accessgraph/v1"
)

// method is one RPC of the API.
type method struct {
	procedure string
	desc      protoreflect.MethodDescriptor
}

func methods() []method {
	var out []method
	for _, f := range []protoreflect.FileDescriptor{apiv1.File_accessgraph_v1_access_proto, apiv1.File_accessgraph_v1_audit_proto} {
		for i := range f.Services().Len() {
			svc := f.Services().Get(i)
			for j := range svc.Methods().Len() {
				m := svc.Methods().Get(j)
				out = append(out, method{fmt.Sprintf("/%s/%s", svc.FullName(), m.Name()), m})
			}
		}
	}
	return out
}

// Every RPC is classified, and its class agrees with its shape: changes return a
// revision token and name an actor, reads as a user name an actor, queries about a
// subject have one, and nothing else has an actor to bind.
func TestEveryRPCIsClassifiedByItsShape(t *testing.T) {
	all := methods()
	if len(all) != len(api.Rules) {
		t.Errorf("%d RPCs, %d rules", len(all), len(api.Rules))
	}
	for _, m := range all {
		class, ok := api.Rules[m.procedure]
		if !ok {
			t.Errorf("%s is not in api.Rules", m.procedure)
			continue
		}
		fields := m.desc.Input().Fields()
		hasActor := fields.ByName("actor") != nil && fields.ByName("reason") != nil
		writes := m.desc.Output().FullName() == "accessgraph.v1.WriteResponse"
		switch class {
		case api.Change:
			if !writes || !hasActor {
				t.Errorf("%s is a change: it must return WriteResponse (%v) and take actor and reason (%v)", m.procedure, writes, hasActor)
			}
		case api.Read:
			if writes || !hasActor {
				t.Errorf("%s is a read as an actor: it must not return WriteResponse (%v) and must take actor and reason (%v)", m.procedure, writes, hasActor)
			}
		case api.SubjectQuery:
			if writes || hasActor || (fields.ByName("subject") == nil && fields.ByName("items") == nil) {
				t.Errorf("%s is a subject query: it must not write, take no actor, and take a subject", m.procedure)
			}
		case api.Query, api.Catalog:
			if writes || fields.ByName("actor") != nil {
				t.Errorf("%s is a %s: it must not write or take an actor", m.procedure, class)
			}
		case api.OperatorOnly:
			if fields.ByName("actor") != nil {
				t.Errorf("%s is operator-only: it takes no actor", m.procedure)
			}
		default:
			t.Errorf("%s has no class", m.procedure)
		}
	}
}

// caller is one way of calling: a key and the actor and subject the request names.
type caller struct {
	name, key, actor, subject string
}

var callers = []caller{
	{"operator", operatorKey, "user:vera", "user:sally"},
	{"user as itself (implied)", userKey, "", "user:bill"},
	{"user as itself (named)", userKey, "user:bill", "user:bill"},
	{"user naming someone else", userKey, "user:vera", "user:vera"},
	{"auditor", auditorKey, "user:vera", "user:sally"},
	{"service with actor", serviceKey, "user:vera", "user:sally"},
	{"service without actor", serviceKey, "", "user:sally"},
	{"no key", "", "user:vera", "user:sally"},
	{"unknown key", "not-a-key-0123456789", "user:vera", "user:sally"},
}

// Outcomes of the authorisation layer.
const (
	passes       = "passes"       // reaches the domain layer (which may still refuse)
	forbidden    = "forbidden"    // PermissionDenied, PRINCIPAL_FORBIDDEN
	needsActor   = "needs actor"  // InvalidArgument: a service names its actor
	unauthorised = "unauthorised" // Unauthenticated
)

// expected is the table of docs/api.md, written out independently of the implementation.
func expected(class api.Class, c caller) string {
	switch c.name {
	case "no key", "unknown key":
		return unauthorised
	}
	kind := strings.Fields(c.name)[0]
	switch class {
	case api.Catalog:
		return passes
	case api.OperatorOnly:
		if kind == "operator" {
			return passes
		}
		return forbidden
	case api.Query:
		if kind == "user" {
			return forbidden
		}
		return passes
	case api.SubjectQuery:
		if c.name == "user naming someone else" {
			return forbidden
		}
		return passes
	case api.Change, api.Read:
		switch {
		case c.name == "user naming someone else":
			return forbidden
		case kind == "auditor" && class == api.Change:
			return forbidden
		case c.name == "service without actor":
			return needsActor
		}
		return passes
	}
	return forbidden
}

// fieldValues are plausible values for request fields, by name.
var fieldValues = map[string]string{
	"account": "account:acme", "user": "user:sally", "partner": "partner:integrator",
	"parent": "partner:integrator", "grantee": "partner:integrator", "level": "look",
	"role": "viewer", "resource": "account:acme", "permission": "view_members",
	"object": "account:acme", "group": "group:eng", "child": "group:eng", "case": "case:42",
	"feature": "feature:entitlement_view", "resource_type": "case", "subject_type": "user",
	"sold_product": "sold_product:sp1", "install_base": "install_base:ib1",
	"service_org": "service_org:so1", "party": "user:sally", "first_admin": "user:sally",
	"status": "all", "reason": "matrix",
}

func request(m protoreflect.MethodDescriptor, c caller) proto.Message {
	mt, err := protoregistry.GlobalTypes.FindMessageByName(m.Input().FullName())
	if err != nil {
		panic(err)
	}
	msg := mt.New()
	fields := msg.Descriptor().Fields()
	for i := range fields.Len() {
		f := fields.Get(i)
		switch {
		case f.Name() == "actor":
			msg.Set(f, protoreflect.ValueOfString(c.actor))
		case f.Name() == "subject":
			msg.Set(f, protoreflect.ValueOfString(c.subject))
		case f.Name() == "items":
			item := &apiv1.CheckItem{Subject: c.subject, Permission: "view_members", Resource: "account:acme"}
			list := msg.Mutable(f).List()
			list.Append(protoreflect.ValueOfMessage(item.ProtoReflect()))
		case f.Kind() == protoreflect.StringKind && !f.IsList():
			msg.Set(f, protoreflect.ValueOfString(fieldValues[string(f.Name())]))
		}
	}
	return msg.Interface()
}

// wireError is a connect error as HTTP/JSON carries it.
type wireError struct {
	Code    string `json:"code"`
	Message string `json:"message"`
	Details []struct {
		Type  string `json:"type"`
		Value string `json:"value"`
	} `json:"details"`
}

func (e wireError) reason() string {
	for _, d := range e.Details {
		b, err := base64.RawStdEncoding.DecodeString(strings.TrimRight(d.Value, "="))
		if err != nil {
			continue
		}
		var info errdetails.ErrorInfo
		if proto.Unmarshal(b, &info) == nil && info.Domain == api.ErrorDomain {
			return info.Reason
		}
	}
	return ""
}

// postJSON calls a procedure over HTTP/JSON and returns the HTTP status, the body and,
// for a failed call, the error.
func postJSON(t *testing.T, url, procedure, key string, body []byte) (int, []byte, wireError) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, url+procedure, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	var we wireError
	if resp.StatusCode != http.StatusOK {
		if err := json.Unmarshal(b, &we); err != nil {
			t.Fatalf("%s: error body %q: %v", procedure, b, err)
		}
	}
	return resp.StatusCode, b, we
}

func outcome(status int, we wireError) string {
	if status == http.StatusOK {
		return passes
	}
	switch reason := we.reason(); {
	case reason == string(api.ReasonForbidden) && we.Code == "permission_denied":
		return forbidden
	case reason == string(api.ReasonUnauthenticated) && we.Code == "unauthenticated":
		return unauthorised
	case reason == string(api.ReasonInvalidArgument) && strings.Contains(we.Message, "a service names the signed-in user"):
		return needsActor
	case reason == string(api.ReasonForbidden), reason == string(api.ReasonUnauthenticated), reason == "":
		return fmt.Sprintf("unexpected %s %s: %s", we.Code, reason, we.Message)
	}
	return passes // the domain layer answered (allowed, or refused by the access rules)
}

// Every RPC, called over HTTP/JSON by every kind of caller, is let through or refused
// exactly as the table says: no escalation, every write refused to auditors, every call
// refused without a known key.
func TestAuthorisationMatrix(t *testing.T) {
	s := newServer(t, nil)
	seed(t, s.embedded)
	counts := map[string]int{}
	for _, m := range methods() {
		class := api.Rules[m.procedure]
		for _, c := range callers {
			body, err := protojson.Marshal(request(m.desc, c))
			if err != nil {
				t.Fatal(err)
			}
			status, _, we := postJSON(t, s.url, m.procedure, c.key, body)
			got, want := outcome(status, we), expected(class, c)
			counts[want]++
			if got != want {
				t.Errorf("%s (%s) by %s: %s, want %s (%s %s)", m.procedure, class, c.name, got, want, we.Code, we.Message)
			}
		}
	}
	t.Logf("outcomes: %v", counts)
	if counts[forbidden] == 0 || counts[passes] == 0 || counts[unauthorised] != 2*len(api.Rules) {
		t.Errorf("the matrix is lopsided: %v", counts)
	}
}
