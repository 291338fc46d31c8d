package refmodel_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/accessgraph/accessgraph/pkg/access"
	"github.com/accessgraph/accessgraph/pkg/engine"
	"github.com/accessgraph/accessgraph/pkg/ref"
	"github.com/accessgraph/accessgraph/pkg/refmodel"
)

// domain is the product under test: an embedded SpiceDB engine and the domain API over it.
type domain struct {
	ctx  context.Context
	e    *engine.Embedded
	c    *access.Client
	drop func() // removes the world's PostgreSQL database, if it has one
}

// datastoreEnv set to "local" runs worlds on the durable local datastore (pkg/localstore),
// each in a fresh directory; `make test-local` sets it.
const datastoreEnv = "ACCESSGRAPH_TEST_DATASTORE"

// startDomain starts a fresh engine on the memory datastore, on a fresh PostgreSQL database
// when ACCESSGRAPH_TEST_POSTGRES names a server (see postgres_test.go), or on the local
// datastore (see datastoreEnv).
func startDomain(ctx context.Context) (*domain, error) {
	cfg := engine.EmbeddedConfig{StartTimeout: 60 * time.Second}
	drop := func() {}
	if base := os.Getenv(postgresEnv); base != "" {
		uri, d, err := freshDatabase(ctx, base)
		if err != nil {
			return nil, err
		}
		cfg.DatastoreURI, drop = uri, d
	} else if os.Getenv(datastoreEnv) == "local" {
		dir, err := os.MkdirTemp("", "refmodel-local-")
		if err != nil {
			return nil, err
		}
		cfg.DatastoreURI, drop = engine.LocalURI(dir), func() { _ = os.RemoveAll(dir) }
	}
	e, err := engine.StartEmbedded(ctx, cfg)
	if err != nil {
		drop()
		return nil, fmt.Errorf("starting engine: %w", err)
	}
	return &domain{ctx: ctx, e: e, c: access.New(e.Engine), drop: drop}, nil
}

func (d *domain) close() {
	_ = d.e.Close()
	d.drop()
}

// classify maps a domain error to the model's outcome categories.
func classify(err error) refmodel.Result {
	switch {
	case err == nil:
		return refmodel.OK
	case errors.Is(err, access.ErrPermissionDenied):
		return refmodel.Denied
	case errors.Is(err, access.ErrNotFound):
		return refmodel.NotFound
	case errors.Is(err, access.ErrLastAdmin):
		return refmodel.LastAdmin
	case errors.Is(err, access.ErrCycle):
		return refmodel.Cycle
	case errors.Is(err, access.ErrInvalidArgument):
		return refmodel.Invalid
	case errors.Is(err, access.ErrConflict):
		return refmodel.Conflict
	case errors.Is(err, access.ErrAlreadyDecided):
		return refmodel.Result("already decided")
	}
	return refmodel.Result("unexpected error: " + err.Error())
}

func obj(o refmodel.Object) ref.Object { return ref.Object{Type: o.Type, ID: o.ID} }

func partnerGrantee(g refmodel.Grantee) access.Grantee {
	if g.Partner != "" {
		return access.PartnerOrg(g.Partner)
	}
	return access.Individual(g.User)
}

func bindGrantee(g refmodel.Grantee) ref.Subject {
	if g.Group != "" {
		return ref.Subject{Object: ref.Object{Type: "group", ID: g.Group}, Relation: "member"}
	}
	return ref.Subject{Object: ref.Object{Type: "user", ID: g.User}}
}

func privileges(ps []refmodel.Privilege) []access.Privilege {
	out := make([]access.Privilege, len(ps))
	for i, p := range ps {
		out[i] = access.Privilege(p)
	}
	return out
}

// apply performs op through the domain API as op.Actor. Tick is not a domain operation.
func (d *domain) apply(op refmodel.Op) error {
	ctx, c := d.ctx, d.c
	as := access.As(op.Actor).Because("refmodel differential test")
	var err error
	switch op.Kind {
	case refmodel.OpTick:
		return nil
	case refmodel.OpBootstrap:
		_, err = c.Bootstrap(ctx, op.User, "refmodel differential test")
	case refmodel.OpAddPlatformRole:
		_, err = c.AddPlatformRole(ctx, as, op.User, access.PlatformRole(op.PlatformRole))
	case refmodel.OpRemovePlatformRole:
		_, err = c.RemovePlatformRole(ctx, as, op.User, access.PlatformRole(op.PlatformRole))
	case refmodel.OpAddRolloutParticipant:
		_, err = c.AddRolloutParticipant(ctx, as, refmodel.EntitlementFeature, op.User)
	case refmodel.OpRemoveRolloutParticipant:
		_, err = c.RemoveRolloutParticipant(ctx, as, refmodel.EntitlementFeature, op.User)
	case refmodel.OpReleaseToEveryone:
		_, err = c.ReleaseToEveryone(ctx, as, refmodel.EntitlementFeature, op.On)
	case refmodel.OpCreatePartner:
		_, err = c.CreatePartner(ctx, as, op.Partner, op.Parent)
	case refmodel.OpAddPartnerMember:
		_, err = c.AddPartnerMember(ctx, as, op.Partner, op.User)
	case refmodel.OpRemovePartnerMember:
		_, err = c.RemovePartnerMember(ctx, as, op.Partner, op.User)
	case refmodel.OpCreateServiceOrg:
		_, err = c.CreateServiceOrg(ctx, as, op.ServiceOrg)
	case refmodel.OpAddServiceOrgMember:
		_, err = c.AddServiceOrgMember(ctx, as, op.ServiceOrg, op.User)
	case refmodel.OpRemoveServiceOrgMember:
		_, err = c.RemoveServiceOrgMember(ctx, as, op.ServiceOrg, op.User)
	case refmodel.OpCreateAccount:
		_, err = c.CreateAccount(ctx, as, op.Account, op.User)
	case refmodel.OpCreateSoldProduct:
		_, err = c.CreateSoldProduct(ctx, as, op.SoldProduct, op.Account)
	case refmodel.OpCreateInstallBase:
		_, err = c.CreateInstallBase(ctx, as, op.InstallBase, op.Account, op.SoldProduct)
	case refmodel.OpCreateGroup:
		_, err = c.CreateGroup(ctx, as, op.Group)
	case refmodel.OpAddGroupMember:
		_, err = c.AddGroupMember(ctx, as, op.Group, op.User)
	case refmodel.OpRemoveGroupMember:
		_, err = c.RemoveGroupMember(ctx, as, op.Group, op.User)
	case refmodel.OpNestGroup:
		_, err = c.NestGroup(ctx, as, op.Group, op.Parent)
	case refmodel.OpUnnestGroup:
		_, err = c.UnnestGroup(ctx, as, op.Group, op.Parent)
	case refmodel.OpSetGroupReadAccess:
		_, err = c.SetGroupReadAccess(ctx, as, op.User, op.Group)
	case refmodel.OpClearGroupReadAccess:
		_, err = c.ClearGroupReadAccess(ctx, as, op.User)
	case refmodel.OpDefineRole:
		_, err = c.DefineRole(ctx, as, op.CustomRole, privileges(op.Privileges))
	case refmodel.OpRequestAccess:
		_, err = c.RequestAccess(ctx, as, op.Account, access.Role(op.SiteRole))
	case refmodel.OpApprove:
		_, err = c.Approve(ctx, as, op.Account, op.User)
	case refmodel.OpDeny:
		_, err = c.Deny(ctx, as, op.Account, op.User)
	case refmodel.OpChangeRole:
		_, err = c.ChangeRole(ctx, as, op.Account, op.User, access.Role(op.SiteRole))
	case refmodel.OpRemoveMember:
		_, err = c.RemoveMember(ctx, as, op.Account, op.User)
	case refmodel.OpLeave:
		_, err = c.Leave(ctx, as, op.Account)
	case refmodel.OpGrantPartner:
		_, err = c.GrantPartner(ctx, as, op.Account, partnerGrantee(op.Grantee), access.Level(op.Level), op.ExpiresAt)
	case refmodel.OpRevokePartner:
		_, err = c.RevokePartner(ctx, as, op.Account, partnerGrantee(op.Grantee))
	case refmodel.OpRequestPartnerLevel:
		_, err = c.RequestPartnerLevel(ctx, as, op.Account, partnerGrantee(op.Grantee), access.Level(op.Level))
	case refmodel.OpApprovePartnerRequest:
		_, err = c.ApprovePartnerRequest(ctx, as, op.Account, partnerGrantee(op.Grantee))
	case refmodel.OpDenyPartnerRequest:
		_, err = c.DenyPartnerRequest(ctx, as, op.Account, partnerGrantee(op.Grantee))
	case refmodel.OpLinkPartner:
		_, err = c.LinkPartner(ctx, as, op.Account, op.Partner)
	case refmodel.OpUnlinkPartner:
		_, err = c.UnlinkPartner(ctx, as, op.Account, op.Partner)
	case refmodel.OpSetSupportAccess:
		_, err = c.SetSupportAccess(ctx, as, op.Account, op.Partner, op.On)
	case refmodel.OpSetVendorManage:
		_, err = c.SetVendorManage(ctx, as, op.Account, op.Partner, op.On)
	case refmodel.OpSetCustomerManage:
		_, err = c.SetCustomerManage(ctx, as, op.Account, op.Partner, op.On)
	case refmodel.OpCreateCase:
		_, err = c.CreateCase(ctx, as, access.NewCase{ID: op.Case, Account: op.Account, SoldProduct: op.SoldProduct, InstallBase: op.InstallBase})
	case refmodel.OpCloseCase:
		_, err = c.CloseCase(ctx, as, op.Case)
	case refmodel.OpReopenCase:
		_, err = c.ReopenCase(ctx, as, op.Case)
	case refmodel.OpAddCaseContact:
		_, err = c.AddCaseContact(ctx, as, op.Case, op.User, op.On)
	case refmodel.OpRemoveCaseContact:
		_, err = c.RemoveCaseContact(ctx, as, op.Case, op.User)
	case refmodel.OpAssignFunctionalRole, refmodel.OpRemoveFunctionalRole:
		fr, perr := access.ParseFunctionalRole(op.FunctionalRole)
		if perr != nil {
			return perr
		}
		if op.Kind == refmodel.OpAssignFunctionalRole {
			_, err = c.AssignFunctionalRole(ctx, as, obj(op.Object), fr, obj(op.Party))
		} else {
			_, err = c.RemoveFunctionalRole(ctx, as, obj(op.Object), fr, obj(op.Party))
		}
	case refmodel.OpBindRole:
		_, err = c.BindRole(ctx, as, op.CustomRole, obj(op.Object), bindGrantee(op.Grantee))
	case refmodel.OpUnbindRole:
		_, err = c.UnbindRole(ctx, as, op.CustomRole, obj(op.Object), bindGrantee(op.Grantee))
	default:
		return fmt.Errorf("no domain call for %s", op.Kind)
	}
	return err
}
