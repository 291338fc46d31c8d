// Package refmodel is an independent reference model of the access model specification,
// the product's behavioural contract: a plain-Go evaluator with no SpiceDB code, written
// from the contract's prose and from the choices the product documented where the contract
// is silent (docs/model.md, sections "Choices where the contract left room" and "Decisions
// that close gaps in the contract").
//
// A World holds the state the contract talks about: accounts and their contacts, the
// platform, the entitlement rollout, partners and their grants, data-access links, groups,
// cases, sold products, install base items and custom roles. Ops change it the way the
// domain API does, refusing what the contract forbids; Allowed answers every public
// permission of the contract for a user on an object.
//
// The model exists to be compared with the product (see the differential and escalation
// tests of this package and docs/reliability.md): it shares no code with the schema or the
// domain layer, so a mistake made in one is unlikely to be repeated in the other.
//
// A World is not safe for concurrent use. Its zero value is not usable; build it with
// NewWorld.
package refmodel
