package api

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"

	"google.golang.org/protobuf/reflect/protoreflect"

	apiv1 "github.com/accessgraph/accessgraph/pkg/api/gen/accessgraph/v1"
)

// generateOpenAPI builds the OpenAPI document of the HTTP/JSON form from the services'
// protobuf descriptors and Rules, so that it cannot drift from them: openapi.json is its
// committed output, and a test fails when the two differ (make proto rewrites it).
func generateOpenAPI() ([]byte, error) {
	files := []protoreflect.FileDescriptor{apiv1.File_accessgraph_v1_access_proto, apiv1.File_accessgraph_v1_audit_proto}
	paths := map[string]any{}
	schemas := map[string]any{
		"Error": map[string]any{
			"type":        "object",
			"description": "A failed call: code is the connect code (permission_denied, not_found, ...); details[0] is a google.rpc.ErrorInfo whose reason names the error class (NOT_AUTHORIZED, NOT_FOUND, ...).",
			"properties": map[string]any{
				"code":    map[string]any{"type": "string"},
				"message": map[string]any{"type": "string"},
				"details": map[string]any{"type": "array", "items": map[string]any{"type": "object"}},
			},
		},
	}
	for _, f := range files {
		msgs := f.Messages()
		for i := range msgs.Len() {
			addSchema(schemas, msgs.Get(i))
		}
		svcs := f.Services()
		for i := range svcs.Len() {
			svc := svcs.Get(i)
			methods := svc.Methods()
			for j := range methods.Len() {
				m := methods.Get(j)
				procedure := fmt.Sprintf("/%s/%s", svc.FullName(), m.Name())
				class, ok := Rules[procedure]
				if !ok {
					return nil, fmt.Errorf("%s is not in Rules", procedure)
				}
				paths[procedure] = map[string]any{"post": map[string]any{
					"operationId": fmt.Sprintf("%s_%s", svc.Name(), m.Name()),
					"tags":        []string{string(svc.Name())},
					"description": "Who may call it: " + whoMay(class),
					"requestBody": map[string]any{"required": true, "content": map[string]any{
						"application/json": map[string]any{"schema": schemaRef(m.Input())},
					}},
					"responses": map[string]any{
						"200": map[string]any{"description": "OK", "content": map[string]any{
							"application/json": map[string]any{"schema": schemaRef(m.Output())},
						}},
						"default": map[string]any{"description": "Error", "content": map[string]any{
							"application/json": map[string]any{"schema": map[string]any{"$ref": "#/components/schemas/Error"}},
						}},
					},
				}}
			}
		}
	}
	doc := map[string]any{
		"openapi": "3.1.0",
		"info": map[string]any{
			"title":       "accessgraph domain API",
			"version":     "v1",
			"description": "The HTTP/JSON form of accessgraph.v1.AccessService and accessgraph.v1.AuditService (connect protocol): POST a JSON request body to /accessgraph.v1.SERVICE/METHOD with Authorization: Bearer KEY. Field names are the protobuf JSON names (lowerCamelCase; snake_case is accepted too). See docs/api.md.",
		},
		"security": []any{map[string]any{"bearer": []any{}}},
		"paths":    paths,
		"components": map[string]any{
			"schemas":         schemas,
			"securitySchemes": map[string]any{"bearer": map[string]any{"type": "http", "scheme": "bearer"}},
		},
	}
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetIndent("", "  ")
	if err := enc.Encode(doc); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

func whoMay(c Class) string {
	switch c {
	case Change:
		return "a change: operators (any actor), services (actor required), users (as themselves); auditors are refused."
	case Read:
		return "a read as an acting user: operators and auditors (any actor), services (actor required), users (as themselves)."
	case SubjectQuery:
		return "operators, auditors and services; users about themselves only (subject user:ID)."
	case Query:
		return "operators, auditors and services; users are refused."
	case Catalog:
		return "every principal."
	case OperatorOnly:
		return "operators only."
	}
	return "no one."
}

func schemaName(m protoreflect.MessageDescriptor) string {
	return strings.TrimPrefix(string(m.FullName()), "accessgraph.v1.")
}

func schemaRef(m protoreflect.MessageDescriptor) map[string]any {
	return map[string]any{"$ref": "#/components/schemas/" + schemaName(m)}
}

func addSchema(schemas map[string]any, m protoreflect.MessageDescriptor) {
	props := map[string]any{}
	fields := m.Fields()
	for i := range fields.Len() {
		f := fields.Get(i)
		t := fieldSchema(f)
		if f.IsList() {
			t = map[string]any{"type": "array", "items": t}
		}
		props[f.JSONName()] = t
	}
	schemas[schemaName(m)] = map[string]any{"type": "object", "properties": props}
}

func fieldSchema(f protoreflect.FieldDescriptor) map[string]any {
	switch f.Kind() {
	case protoreflect.BoolKind:
		return map[string]any{"type": "boolean"}
	case protoreflect.Int64Kind:
		return map[string]any{"type": "string", "format": "int64"}
	case protoreflect.MessageKind:
		switch f.Message().FullName() {
		case "google.protobuf.Timestamp":
			return map[string]any{"type": "string", "format": "date-time"}
		case "google.protobuf.Struct":
			return map[string]any{"type": "object"}
		}
		return schemaRef(f.Message())
	}
	return map[string]any{"type": "string"}
}
