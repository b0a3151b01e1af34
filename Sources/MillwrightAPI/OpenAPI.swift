import MillwrightCore

/// The OpenAPI 3.1 document of every route, served at `/openapi.yaml` (and `/openapi.json`).
///
/// Event schemas come from the catalogue (the same definitions that validate events), scopes from
/// ``routeScopes``; a test checks that every registered route is described here.
public enum OpenAPIDocument {
    static func ref(_ name: String) -> JSONValue { .object(["$ref": .string("#/components/schemas/\(name)")]) }

    static func content(_ schema: JSONValue, _ type: String = "application/json") -> JSONValue {
        .object([type: .object(["schema": schema])])
    }

    static func response(_ description: String, _ schema: JSONValue? = nil, type: String = "application/json", headers: JSONValue? = nil) -> JSONValue {
        var r: [String: JSONValue] = ["description": .string(description)]
        if let schema { r["content"] = content(schema, type) }
        if let headers { r["headers"] = headers }
        return .object(r)
    }

    static func problems(_ statuses: [Int]) -> [String: JSONValue] {
        let descriptions = [
            400: "Malformed JSON, invalid UTF-8 or an invalid query", 401: "No, unknown, expired or revoked token",
            403: "The token lacks the scope named in missing_scope", 404: "Not found", 409: "Conflict",
            413: "Body or batch over the limit", 415: "Unsupported Content-Type", 422: "Validation failed; errors lists each field",
            429: "Over a rate or concurrency limit; retry after Retry-After seconds",
            503: "Starting, shutting down, or the store could not commit",
        ]
        var out: [String: JSONValue] = [:]
        for s in statuses {
            let headers: JSONValue? = s == 429 || s == 503
                ? ["Retry-After": ["schema": ["type": "integer", "minimum": 1], "description": "Seconds to wait before retrying"]] : nil
            out[String(s)] = response(descriptions[s] ?? "Problem", ref("Problem"), type: "application/problem+json", headers: headers)
        }
        return out
    }

    static func operation(
        _ id: String, _ summary: String, scope: String?, parameters: [JSONValue] = [], body: JSONValue? = nil,
        responses: [String: JSONValue], problemStatuses: [Int] = []
    ) -> JSONValue {
        var op: [String: JSONValue] = ["operationId": .string(id), "summary": .string(summary)]
        var all = responses
        var statuses = problemStatuses
        if let scope {
            op["security"] = [["bearer": []]]
            op["description"] = .string("Needs a token with scope `\(scope)`.")
            statuses += [401, 403, 429]
        } else {
            op["security"] = []
        }
        for (k, v) in problems(statuses) where all[k] == nil { all[k] = v }
        op["responses"] = .object(all)
        if !parameters.isEmpty { op["parameters"] = .array(parameters) }
        if let body { op["requestBody"] = body }
        return .object(op)
    }

    static func query(_ name: String, _ schema: JSONValue, _ description: String) -> JSONValue {
        .object(["name": .string(name), "in": "query", "required": false, "schema": schema, "description": .string(description)])
    }

    static func path(_ name: String, _ schema: JSONValue = ["type": "string"]) -> JSONValue {
        .object(["name": .string(name), "in": "path", "required": true, "schema": schema])
    }

    static let string: JSONValue = ["type": "string"]
    static let dateTime: JSONValue = ["type": "string", "format": "date-time"]
    static let nullableDateTime: JSONValue = ["type": ["string", "null"], "format": "date-time"]

    static let namePattern: JSONValue = .object(["type": "string", "pattern": .string(Governance.accountNamePattern)])
    static let scopePattern: JSONValue = .object([
        "type": "string",
        "pattern": .string("^(role:(viewer|operator|admin)|(" + Governance.knownScopes.joined(separator: "|") + ")(:[^ ]+)?)$"),
    ])

    public static func make(catalogue: Catalogue, metricsRequireToken: Bool) -> JSONValue {
        var schemas: [String: JSONValue] = [
            "Problem": [
                "type": "object", "required": ["type", "title", "status", "code"],
                "properties": [
                    "type": ["type": "string"], "title": ["type": "string"], "status": ["type": "integer"],
                    "code": ["type": "string", "pattern": "^MW-[A-Z]+-[0-9]{4}$"], "detail": ["type": "string"],
                    "errors": ["type": "array", "items": ["type": "object", "required": ["pointer", "detail"],
                                                          "properties": ["pointer": ["type": "string"], "detail": ["type": "string"]]]],
                ],
            ],
            "StoredEvent": [
                "type": "object", "required": ["seq", "received_at", "event"],
                "properties": ["seq": ["type": "integer", "minimum": 1], "received_at": dateTime, "event": ["type": "object"]],
            ],
            "EventPage": [
                "type": "object", "required": ["items", "next_after"],
                "properties": ["items": ["type": "array", "items": ref("StoredEvent")], "next_after": ["type": ["integer", "null"]]],
            ],
            "BatchResults": [
                "type": "object", "required": ["results"],
                "properties": ["results": ["type": "array", "items": [
                    "type": "object", "required": ["index", "status"],
                    "properties": [
                        "index": ["type": "integer"], "status": ["enum": ["created", "duplicate", "conflict", "rejected"]],
                        "seq": ["type": "integer"], "received_at": dateTime, "event": ["type": "object"], "problem": ref("Problem"),
                    ],
                ]]],
            ],
            "SchemaList": [
                "type": "object", "required": ["items"],
                "properties": ["items": ["type": "array", "items": [
                    "type": "object", "required": ["type", "summary", "from", "to", "schema"],
                    "properties": ["type": string, "summary": string, "from": string, "to": string, "schema": string],
                ]]],
            ],
            "ServiceAccount": [
                "type": "object", "required": ["name", "description", "created_at"],
                "properties": ["name": string, "description": string, "created_at": dateTime],
            ],
            "ServiceAccountList": ["type": "object", "required": ["items"], "properties": ["items": ["type": "array", "items": ref("ServiceAccount")]]],
            "Token": [
                "type": "object", "required": ["id", "account", "prefix", "scopes", "created_at", "expires_at", "revoked_at"],
                "properties": [
                    "id": string, "account": string, "prefix": string, "scopes": ["type": "array", "items": string],
                    "created_at": dateTime, "expires_at": nullableDateTime, "revoked_at": nullableDateTime,
                    "token": ["type": "string", "description": "The secret, only when issued."], "note": string,
                ],
            ],
            "TokenList": ["type": "object", "required": ["items"], "properties": ["items": ["type": "array", "items": ref("Token")]]],
            "AuditEntry": [
                "type": "object", "required": ["seq", "at", "actor", "action", "target", "origin", "previous_hash", "hash"],
                "properties": [
                    "seq": ["type": "integer"], "at": dateTime, "actor": string, "action": string, "target": string, "origin": string,
                    "before": ["type": ["object", "null"]], "after": ["type": ["object", "null"]], "previous_hash": string, "hash": string,
                ],
            ],
            "AuditPage": [
                "type": "object", "required": ["items", "next_after"],
                "properties": ["items": ["type": "array", "items": ref("AuditEntry")], "next_after": ["type": ["integer", "null"]]],
            ],
            "Approval": [
                "type": "object", "required": ["id", "action", "target", "request", "status", "requested_by", "requested_at", "expires_at"],
                "properties": [
                    "id": string, "action": ["enum": .array(ApprovalPolicy.actions.map { .string($0) })], "target": string,
                    "request": ["type": "object"], "status": ["enum": .array(ApprovalRecord.Status.allCases.map { .string($0.rawValue) })],
                    "requested_by": string, "origin": string, "requested_at": dateTime, "expires_at": dateTime,
                    "decided_by": ["type": ["string", "null"]], "decided_at": nullableDateTime, "outcome": ["type": ["object", "null"]],
                ],
            ],
            "ApprovalList": ["type": "object", "required": ["items"], "properties": ["items": ["type": "array", "items": ref("Approval")]]],
            "ApprovalResult": [
                "type": "object", "required": ["approval", "result"],
                "properties": ["approval": ref("Approval"), "result": ["type": "object", "description": "What the approved action answers (a new token's secret, once)."]],
            ],
            "AuditVerification": [
                "type": "object", "required": ["intact"],
                "properties": ["intact": ["type": "boolean"], "entries": ["type": "integer"], "head": string,
                               "broken_at": ["type": "integer"], "reason": string],
            ],
        ]
        var eventRefs: [JSONValue] = []
        for spec in catalogue.sortedTypes {
            guard case .object(var schema) = spec.jsonSchema(units: catalogue.units) else { continue }
            schema.removeValue(forKey: "$schema")
            schema.removeValue(forKey: "$id")
            schemas[spec.type] = .object(schema)
            eventRefs.append(ref(spec.type))
        }
        schemas["CloudEvent"] = .object(["oneOf": .array(eventRefs), "description": "A canonical event of the v1 catalogue."])

        let seqParam = path("seq", ["type": "integer", "minimum": 1])
        var paths: [String: JSONValue] = [:]
        paths["/healthz"] = ["get": operation("health", "The process is up", scope: nil, responses: ["200": response("OK", ["type": "object"])])]
        paths["/readyz"] = ["get": operation("ready", "Ready for traffic", scope: nil, responses: ["200": response("Ready", ["type": "object"])], problemStatuses: [503])]
        paths["/metrics"] = ["get": operation("metrics", "Prometheus metrics", scope: metricsRequireToken ? "metrics:read" : nil,
                                              responses: ["200": response("Prometheus text format", string, type: "text/plain")])]
        paths["/openapi.yaml"] = ["get": operation("openapiYAML", "This document (YAML)", scope: nil, responses: ["200": response("OpenAPI 3.1", string, type: "application/yaml")])]
        paths["/openapi.json"] = ["get": operation("openapiJSON", "This document (JSON)", scope: nil, responses: ["200": response("OpenAPI 3.1", ["type": "object"])])]
        paths["/v1/events"] = [
            "post": operation(
                "publishEvents", "Append one event (structured mode) or a batch", scope: "events:publish:<type>",
                body: .object(["required": true, "content": .object([
                    "application/cloudevents+json": .object(["schema": ref("CloudEvent")]),
                    "application/json": .object(["schema": ref("CloudEvent")]),
                    "application/cloudevents-batch+json": .object(["schema": .object(["type": "array", "items": ref("CloudEvent"), "maxItems": 1000])]),
                ])]),
                responses: [
                    "201": response("Stored (new)", ref("StoredEvent"), headers: ["Location": ["schema": ["type": "string"]]]),
                    "200": response("Already stored with the same content (single event), or one result per item (batch)",
                                    .object(["oneOf": [ref("StoredEvent"), ref("BatchResults")]]), headers: ["Location": ["schema": ["type": "string"]]]),
                ],
                problemStatuses: [400, 409, 413, 415, 422, 503]
            ),
            "get": operation(
                "listEvents", "Query the event log in log order", scope: "events:read",
                parameters: [
                    query("type", string, "Event type"), query("source", string, "Source"), query("id", string, "Event id"),
                    query("subject", string, "Subject"), query("order", string, "Production order reference"),
                    query("product", string, "Product reference"), query("lot", string, "Lot or serial"),
                    query("equipment", string, "Equipment"), query("key", string, "Any business key"),
                    query("since", dateTime, "Event time at or after"), query("until", dateTime, "Event time before"),
                    query("after", ["type": "integer", "minimum": 0], "Log position to continue after"),
                    query("limit", ["type": "integer", "minimum": 1, "maximum": 1000], "Page size (default 100)"),
                    query("last", ["type": "integer", "minimum": 1, "maximum": 1000], "The newest N instead (not with after or limit)"),
                ],
                responses: ["200": response("A page of events", ref("EventPage"))],
                problemStatuses: [400]
            ),
        ]
        paths["/v1/events/{seq}"] = ["get": operation("getEvent", "One event by log position", scope: "events:read", parameters: [seqParam],
                                                      responses: ["200": response("The event", ref("StoredEvent"))], problemStatuses: [404])]
        paths["/v1/schemas"] = ["get": operation("listSchemas", "The canonical types", scope: "schemas:read", responses: ["200": response("Types", ref("SchemaList"))])]
        paths["/v1/schemas/{type}"] = ["get": operation("getSchema", "JSON Schema (draft 2020-12) of one type", scope: "schemas:read", parameters: [path("type")],
                                                        responses: ["200": response("The schema", ["type": "object"], type: "application/schema+json")], problemStatuses: [404])]
        let jsonBody: (JSONValue) -> JSONValue = { schema in .object(["required": true, "content": content(schema)]) }
        paths["/v1/service-accounts"] = [
            "get": operation("listServiceAccounts", "Service accounts", scope: "admin", responses: ["200": response("Accounts", ref("ServiceAccountList"))]),
            "post": operation("createServiceAccount", "Create a service account", scope: "admin",
                              body: jsonBody(["type": "object", "required": ["name"], "properties": ["name": namePattern, "description": string]]),
                              responses: ["201": response("Created", ref("ServiceAccount")), "202": response("Needs a second person's approval (approvals.required_for): the pending approval", ref("Approval"), headers: ["Location": ["schema": ["type": "string"]]])], problemStatuses: [400, 409, 413, 422]),
        ]
        paths["/v1/service-accounts/{name}/tokens"] = [
            "get": operation("listTokens", "An account's tokens (never their secrets)", scope: "admin", parameters: [path("name", namePattern)],
                             responses: ["200": response("Tokens", ref("TokenList"))]),
            "post": operation("issueToken", "Issue a token; the secret is in the answer, once", scope: "admin", parameters: [path("name", namePattern)],
                              body: jsonBody(["type": "object", "required": ["scopes"], "properties": [
                                  "scopes": ["type": "array", "items": scopePattern, "minItems": 1],
                                  "expires_in_seconds": ["type": "integer", "minimum": 1, "maximum": .number(String(Governance.maxLifetimeSeconds))],
                              ]]),
                              responses: ["201": response("Issued", ref("Token")), "202": response("Needs a second person's approval (approvals.required_for): the pending approval", ref("Approval"), headers: ["Location": ["schema": ["type": "string"]]])], problemStatuses: [400, 413, 422]),
        ]
        paths["/v1/tokens/{id}/rotate"] = ["post": operation(
            "rotateToken", "Issue a successor; the old token works for the overlap", scope: "admin", parameters: [path("id")],
            body: .object(["required": false, "content": content(["type": "object", "properties": ["overlap_seconds": ["type": "integer", "minimum": 0, "maximum": .number(String(Governance.maxLifetimeSeconds))]]])]),
            responses: ["201": response("Successor issued", ref("Token")), "202": response("Needs a second person's approval (approvals.required_for): the pending approval", ref("Approval"), headers: ["Location": ["schema": ["type": "string"]]])], problemStatuses: [400, 404, 413, 422]
        )]
        paths["/v1/tokens/{id}"] = ["delete": operation("revokeToken", "Revoke a token at once", scope: "admin", parameters: [path("id")],
                                                       responses: ["200": response("Revoked", ref("Token")), "202": response("Needs a second person's approval (approvals.required_for): the pending approval", ref("Approval"), headers: ["Location": ["schema": ["type": "string"]]])], problemStatuses: [404])]
        paths["/v1/audit"] = ["get": operation(
            "listAudit", "The audit log in order", scope: "audit:read",
            parameters: [query("after", ["type": "integer", "minimum": 0], "Entry to continue after"),
                         query("limit", ["type": "integer", "minimum": 1, "maximum": 1000], "Page size (default 100)")],
            responses: ["200": response("Entries", ref("AuditPage"))], problemStatuses: [400]
        )]
        paths["/v1/audit/verify"] = ["get": operation("verifyAudit", "Check the audit hash chain", scope: "audit:read",
                                                      responses: ["200": response("Result", ref("AuditVerification"))])]
        let delivery = deliveryPaths()
        paths.merge(delivery.paths) { current, _ in current }
        schemas.merge(delivery.schemas) { current, _ in current }
        let subscription = subscriptionPaths()
        paths.merge(subscription.paths) { current, _ in current }
        schemas.merge(subscription.schemas) { current, _ in current }

        paths["/v1/approvals"] = ["get": operation(
            "listApprovals", "Approvals, newest first", scope: "admin",
            parameters: [query("status", ["enum": .array(ApprovalRecord.Status.allCases.map { .string($0.rawValue) })], "Only this status"),
                         query("limit", ["type": "integer", "minimum": 1, "maximum": 1000], "At most this many (default 100)")],
            responses: ["200": response("Approvals", ref("ApprovalList"))], problemStatuses: [400]
        )]
        paths["/v1/approvals/{id}"] = ["get": operation("getApproval", "One approval", scope: "admin", parameters: [path("id")],
                                                        responses: ["200": response("The approval", ref("Approval"))], problemStatuses: [404])]
        paths["/v1/approvals/{id}/approve"] = ["post": operation(
            "approve", "Approve and run a pending action (an admin of another service account than the requester)", scope: "admin",
            parameters: [path("id")], responses: ["200": response("Approved; the action ran", ref("ApprovalResult"))], problemStatuses: [404, 409, 422]
        )]
        paths["/v1/approvals/{id}/reject"] = ["post": operation(
            "reject", "Reject (or withdraw) a pending action", scope: "admin", parameters: [path("id")],
            responses: ["200": response("Rejected", ref("Approval"))], problemStatuses: [404, 409]
        )]

        // Hooks: each source verifies its own callers; no bearer token. `{}` stands for the kinds that carry no
        // signature header (shared-secret, none, odoo): their checks are described, not declarable here.
        let hookDescription = """
            An inbound webhook of a configured source (`hooks:` in the configuration). Not authenticated by a bearer token: \
            each source is verified its own way. `standard-webhooks`: `webhook-id`, `webhook-timestamp` and \
            `webhook-signature` (HMAC-SHA256), timestamp within the tolerance, `webhook-id` not seen inside the window. \
            `shared-secret`: the configured header carries the secret. `none`: the caller's address is in the allow-list. \
            `odoo`: allow-list and the secret in the path. The verified payload becomes a canonical event by the source's \
            mapping and is answered like `POST /v1/events`.
            """
        let hookSecurity: JSONValue = [["webhookSignature": []], [:]]
        let hookHeaders: [JSONValue] = [
            .object(["name": "webhook-id", "in": "header", "required": false, "schema": string, "description": "Standard Webhooks message id"]),
            .object(["name": "webhook-timestamp", "in": "header", "required": false, "schema": ["type": "string", "pattern": "^[0-9]{1,12}$"],
                     "description": "Standard Webhooks: seconds since 1970"]),
        ]
        let sourceParam = path("source", .object(["type": "string", "pattern": .string(HookSourceConfiguration.namePattern)]))
        func hookOperation(_ id: String, _ summary: String, parameters: [JSONValue]) -> JSONValue {
            var responses: [String: JSONValue] = [
                "201": response("Stored (new)", ref("StoredEvent"), headers: ["Location": ["schema": ["type": "string"]]]),
                "200": response("Already stored with the same content (a redelivery)", ref("StoredEvent"), headers: ["Location": ["schema": ["type": "string"]]]),
            ]
            for (k, v) in problems([400, 401, 403, 404, 409, 413, 422, 429, 503]) { responses[k] = v }
            return .object([
                "operationId": .string(id), "summary": .string(summary), "description": .string(hookDescription),
                "security": hookSecurity, "x-millwright-authentication": "hook-verification",
                "parameters": .array(parameters),
                "requestBody": .object(["required": true, "content": content(["description": "The sender's payload (JSON)"])]),
                "responses": .object(responses),
            ])
        }
        paths["/v1/hooks/{source}"] = ["post": hookOperation("receiveHook", "Receive a webhook of a configured source", parameters: [sourceParam] + hookHeaders)]
        paths["/v1/hooks/{source}/{secret}"] = ["post": hookOperation(
            "receiveOdooHook", "Receive an Odoo base_automation webhook (secret in the path)", parameters: [sourceParam, path("secret")])]

        return .object([
            "openapi": "3.1.0",
            "info": [
                "title": "Millwright",
                "version": "0.1.0",
                "description": "The integration layer between Odoo and the plant. Errors are RFC 9457 problem documents (application/problem+json) with stable codes.",
            ],
            "paths": .object(paths),
            "components": .object([
                "schemas": .object(schemas),
                "securitySchemes": [
                    "bearer": ["type": "http", "scheme": "bearer", "description": "A Millwright token (mw_…)."],
                    "webhookSignature": [
                        "type": "apiKey", "in": "header", "name": "webhook-signature",
                        "description": "Standard Webhooks: space-separated v1,<base64 HMAC-SHA256 of id.timestamp.body>, with webhook-id and webhook-timestamp; the key is the source's whsec_ secret.",
                    ],
                ],
            ]),
        ])
    }
}
