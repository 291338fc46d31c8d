// Package api serves the domain API (pkg/access) and the audit API (pkg/audit) as the
// versioned services accessgraph.v1.AccessService and accessgraph.v1.AuditService, over
// gRPC, gRPC-Web and HTTP/JSON (connect-go), behind bearer-key authentication and one
// table of what each kind of principal may call. pkg/client is its Go client.
package api
