package api

import (
	"fmt"
	"strings"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"

	"github.com/accessgraph/accessgraph/pkg/access"
	"github.com/accessgraph/accessgraph/pkg/api/gen/accessgraph/v1/apiv1connect"
	"github.com/accessgraph/accessgraph/pkg/principal"
	"github.com/accessgraph/accessgraph/pkg/ref"
)

// Class is what kind of call an RPC is, which decides who may make it.
type Class int

// The classes of RPC. Every RPC of both services has one (Rules).
const (
	// Change changes access as an acting user (the request's actor field), authorised by
	// the access rules. Auditors are refused. A user principal is the actor (an empty actor
	// means itself; naming anyone else is refused); a service must name the actor; an
	// operator may name anyone.
	Change Class = iota + 1
	// Read reads as an acting user, authorised by the access rules (members, grants,
	// requests, the access review). The actor is bound as for Change; auditors may name
	// any actor.
	Read
	// SubjectQuery answers a question about a subject (checks, lookups by subject,
	// explain). A user principal may ask only about itself (subject user:ID); the other
	// kinds about anyone.
	SubjectQuery
	// Query reads access without an acting user or a subject of the caller's own (expand,
	// who-can, history, lookups of subjects): operators, auditors and services.
	Query
	// Catalog reads what every caller may see (the custom roles and their privileges, and
	// the caller's own principal): every principal.
	Catalog
	// OperatorOnly is for operators alone (bootstrapping the first platform administrator).
	OperatorOnly
)

func (c Class) String() string {
	switch c {
	case Change:
		return "change"
	case Read:
		return "read"
	case SubjectQuery:
		return "subject query"
	case Query:
		return "query"
	case Catalog:
		return "catalog"
	case OperatorOnly:
		return "operator only"
	}
	return "unclassified"
}

// Rules classifies every RPC of AccessService and AuditService by its procedure
// (/accessgraph.v1.AccessService/Check). An RPC missing here is refused to everyone.
var Rules = map[string]Class{
	apiv1connect.AccessServiceCheckProcedure:           SubjectQuery,
	apiv1connect.AccessServiceCheckManyProcedure:       SubjectQuery,
	apiv1connect.AccessServiceLookupResourcesProcedure: SubjectQuery,
	apiv1connect.AccessServiceLookupSubjectsProcedure:  Query,
	apiv1connect.AccessServiceKnownProcedure:           Query,

	apiv1connect.AccessServiceRequestAccessProcedure:   Change,
	apiv1connect.AccessServicePendingRequestsProcedure: Read,
	apiv1connect.AccessServiceApproversProcedure:       Read,
	apiv1connect.AccessServiceApproveProcedure:         Change,
	apiv1connect.AccessServiceDenyProcedure:            Change,
	apiv1connect.AccessServiceChangeRoleProcedure:      Change,
	apiv1connect.AccessServiceRemoveMemberProcedure:    Change,
	apiv1connect.AccessServiceLeaveProcedure:           Change,
	apiv1connect.AccessServiceMembersProcedure:         Read,

	apiv1connect.AccessServiceCreatePartnerProcedure:          Change,
	apiv1connect.AccessServiceAddPartnerMemberProcedure:       Change,
	apiv1connect.AccessServiceRemovePartnerMemberProcedure:    Change,
	apiv1connect.AccessServiceGrantPartnerProcedure:           Change,
	apiv1connect.AccessServiceRevokePartnerProcedure:          Change,
	apiv1connect.AccessServicePartnerGrantsProcedure:          Read,
	apiv1connect.AccessServiceRequestPartnerLevelProcedure:    Change,
	apiv1connect.AccessServicePendingPartnerRequestsProcedure: Read,
	apiv1connect.AccessServiceApprovePartnerRequestProcedure:  Change,
	apiv1connect.AccessServiceDenyPartnerRequestProcedure:     Change,

	apiv1connect.AccessServiceLinkPartnerProcedure:          Change,
	apiv1connect.AccessServiceUnlinkPartnerProcedure:        Change,
	apiv1connect.AccessServiceSetSupportAccessProcedure:     Change,
	apiv1connect.AccessServiceSetVendorManageProcedure:      Change,
	apiv1connect.AccessServiceSetCustomerManageProcedure:    Change,
	apiv1connect.AccessServiceDataAccessAgreementsProcedure: Read,

	apiv1connect.AccessServiceCreateGroupProcedure:          Change,
	apiv1connect.AccessServiceAddGroupMemberProcedure:       Change,
	apiv1connect.AccessServiceRemoveGroupMemberProcedure:    Change,
	apiv1connect.AccessServiceNestGroupProcedure:            Change,
	apiv1connect.AccessServiceUnnestGroupProcedure:          Change,
	apiv1connect.AccessServiceSetGroupReadAccessProcedure:   Change,
	apiv1connect.AccessServiceClearGroupReadAccessProcedure: Change,
	apiv1connect.AccessServiceGroupReadAccessProcedure:      Read,

	apiv1connect.AccessServiceCreateCaseProcedure:          Change,
	apiv1connect.AccessServiceCloseCaseProcedure:           Change,
	apiv1connect.AccessServiceReopenCaseProcedure:          Change,
	apiv1connect.AccessServiceAddCaseContactProcedure:      Change,
	apiv1connect.AccessServiceRemoveCaseContactProcedure:   Change,
	apiv1connect.AccessServiceVisibleCasesProcedure:        Read,
	apiv1connect.AccessServiceGroupCasesProcedure:          Read,
	apiv1connect.AccessServicePartnerManagedCasesProcedure: Read,

	apiv1connect.AccessServiceCreateSoldProductProcedure:      Change,
	apiv1connect.AccessServiceCreateInstallBaseProcedure:      Change,
	apiv1connect.AccessServiceCreateServiceOrgProcedure:       Change,
	apiv1connect.AccessServiceAddServiceOrgMemberProcedure:    Change,
	apiv1connect.AccessServiceRemoveServiceOrgMemberProcedure: Change,
	apiv1connect.AccessServiceAssignFunctionalRoleProcedure:   Change,
	apiv1connect.AccessServiceRemoveFunctionalRoleProcedure:   Change,
	apiv1connect.AccessServiceRelatedPartiesProcedure:         Read,

	apiv1connect.AccessServiceDefineRoleProcedure:     Change,
	apiv1connect.AccessServiceRolePrivilegesProcedure: Catalog,
	apiv1connect.AccessServiceCustomRolesProcedure:    Catalog,
	apiv1connect.AccessServiceBindRoleProcedure:       Change,
	apiv1connect.AccessServiceUnbindRoleProcedure:     Change,
	apiv1connect.AccessServiceRoleBindingsProcedure:   Read,

	apiv1connect.AccessServiceBootstrapProcedure:                OperatorOnly,
	apiv1connect.AccessServiceAddPlatformRoleProcedure:          Change,
	apiv1connect.AccessServiceRemovePlatformRoleProcedure:       Change,
	apiv1connect.AccessServiceAddRolloutParticipantProcedure:    Change,
	apiv1connect.AccessServiceRemoveRolloutParticipantProcedure: Change,
	apiv1connect.AccessServiceReleaseToEveryoneProcedure:        Change,
	apiv1connect.AccessServiceCreateAccountProcedure:            Change,
	apiv1connect.AccessServiceWhoAmIProcedure:                   Catalog,

	apiv1connect.AuditServiceExplainProcedure:           SubjectQuery,
	apiv1connect.AuditServiceExpandProcedure:            Query,
	apiv1connect.AuditServiceWhoCanProcedure:            Query,
	apiv1connect.AuditServiceAccessReviewProcedure:      Read,
	apiv1connect.AuditServiceHistoryProcedure:           Query,
	apiv1connect.AuditServiceVerifyHistoryProcedure:     Query,
	apiv1connect.AuditServiceHistoryCheckpointProcedure: Query,
	apiv1connect.AuditServiceProvenanceProcedure:        Query,
}

// authorize decides whether p may make the call, by the RPC's class (Rules). For an RPC
// with an acting user it binds the actor: a user principal's empty actor becomes itself.
// Refusals wrap principal.ErrPermissionDenied; a missing actor wraps
// access.ErrInvalidArgument.
func authorize(p principal.Principal, procedure string, msg proto.Message) error {
	class, ok := Rules[procedure]
	if !ok {
		return fmt.Errorf("%w: %s is not a call any principal may make", principal.ErrPermissionDenied, procedure)
	}
	switch p.Kind {
	case principal.Operator, principal.User, principal.Auditor, principal.Service:
	default:
		return fmt.Errorf("%w: %s has no kind", principal.ErrPermissionDenied, p)
	}
	method := procedure[strings.LastIndex(procedure, "/")+1:]
	switch class {
	case OperatorOnly:
		if p.Kind != principal.Operator {
			return fmt.Errorf("%w: %s: only an operator may call %s", principal.ErrPermissionDenied, p, method)
		}
		return nil
	case Catalog:
		return nil
	case Query:
		if p.Kind == principal.User {
			return fmt.Errorf("%w: %s: a user principal may not call %s (it shows other users' access)", principal.ErrPermissionDenied, p, method)
		}
		return nil
	case SubjectQuery:
		if p.Kind != principal.User {
			return nil
		}
		for _, s := range subjects(msg) {
			if s != "user:"+p.User {
				return fmt.Errorf("%w: %s may ask about itself only (subject user:%s), not %q", principal.ErrPermissionDenied, p, p.User, s)
			}
		}
		return nil
	case Change:
		if !p.MayChange() {
			return fmt.Errorf("%w: %s only reads; %s is a change", principal.ErrPermissionDenied, p, method)
		}
		return bindActor(p, msg)
	case Read:
		return bindActor(p, msg)
	}
	return fmt.Errorf("%w: %s is not classified", principal.ErrPermissionDenied, procedure)
}

// bindActor checks the request's actor field against the principal, and fills it in for
// a user principal that left it empty.
func bindActor(p principal.Principal, msg proto.Message) error {
	m := msg.ProtoReflect()
	fd := m.Descriptor().Fields().ByName("actor")
	if fd == nil {
		return fmt.Errorf("%w: the request has no actor", principal.ErrPermissionDenied)
	}
	actor := m.Get(fd).String()
	switch p.Kind {
	case principal.User:
		if actor == "" {
			m.Set(fd, protoreflect.ValueOfString("user:"+p.User))
			return nil
		}
		o, err := ref.ParseOfType(actor, "user")
		if err != nil {
			return fmt.Errorf("actor: %w", err)
		}
		if !p.MayActAs(o.ID) {
			return fmt.Errorf("%w: %s acts as user:%s only, not %s", principal.ErrPermissionDenied, p, p.User, o)
		}
	case principal.Service:
		if actor == "" {
			return fmt.Errorf("%w: no actor: a service names the signed-in user it acts for in actor (user:ID)", access.ErrInvalidArgument)
		}
	}
	return nil
}

// subjects are the subjects a SubjectQuery asks about: its subject field, or the subject
// of each of its items.
func subjects(msg proto.Message) []string {
	m := msg.ProtoReflect()
	fields := m.Descriptor().Fields()
	if fd := fields.ByName("subject"); fd != nil {
		return []string{m.Get(fd).String()}
	}
	var out []string
	if fd := fields.ByName("items"); fd != nil && fd.IsList() {
		list := m.Get(fd).List()
		for i := range list.Len() {
			item := list.Get(i).Message()
			out = append(out, item.Get(item.Descriptor().Fields().ByName("subject")).String())
		}
		return out
	}
	return []string{""} // a query with no subject is not about the caller
}
