import Foundation
import Hummingbird
import MillwrightCore

/// The operator's view of delivery: `/v1/flows` (with health), `/v1/deliveries`, `/v1/dead-letters` and
/// their replay, and `/v1/messages?key=`: everything that happened to one business key.
struct DeliveryRoutes {
    let store: any Store
    let deliveries: any DeliveryStore
    let flows: [Flow]
    let governance: Governance
    /// Set when bulk replays may need a second person's approval (`approvals.required_for`).
    var approvals: Approvals?
    let breakerPhase: @Sendable (String) -> String
    let now: @Sendable () -> Date

    func register(on group: RouterGroup<MillwrightRequestContext>) {
        group.get("flows") { _, context in
            try context.require("flows:read")
            var items: [JSONValue] = []
            for flow in flows {
                items.append(try await describe(flow))
            }
            return GovernanceRoutes.json(.object(["items": .array(items)]))
        }
        group.get("deliveries") { request, context in
            try context.require("deliveries:read")
            let query = try await query(request, allowed: ["state", "flow", "key", "after", "limit"])
            return try await page(query)
        }
        group.get("deliveries/{id}") { _, context in
            try context.require("deliveries:read")
            let delivery = try await delivery(context)
            var json = Self.describe(delivery)
            json["attempts"] = .array(try await deliveries.attempts(deliveryID: delivery.id).map(Self.describe))
            return GovernanceRoutes.json(.object(json))
        }
        group.get("dead-letters") { request, context in
            try context.require("deliveries:read")
            var query = try await query(request, allowed: ["flow", "key", "after", "limit"])
            query.states = [.dead]
            return try await page(query)
        }
        group.post("dead-letters/{id}/replay") { _, context in
            try context.require("deliveries:replay")
            let delivery = try await delivery(context)
            guard try await deliveries.replay(delivery.id, at: now()) else {
                throw Problem(.conflict, code: ProblemCode.conflict, title: "Not a dead letter", detail: "delivery \(delivery.id) is \(delivery.state.rawValue); only dead letters are replayed")
            }
            try await governance.audit(
                "delivery.replay", target: "delivery/\(delivery.id)", by: context.actor,
                before: .object(["state": .string(delivery.state.rawValue), "last_error": delivery.lastError.map(JSONValue.string) ?? .null]),
                after: .object(["state": "pending"]))
            let replayed = try await deliveries.delivery(id: delivery.id) ?? delivery
            return GovernanceRoutes.json(.object(Self.describe(replayed)))
        }
        group.post("replays") { request, context in
            try context.require("deliveries:replay")
            let body = try await GovernanceRoutes.object(request, limit: 65_536)
            let allowed = ["flow", "key", "dry_run"]
            var errors: [FieldError] = []
            for key in body.objectValue?.keys.sorted() ?? [] where !allowed.contains(key) {
                errors.append(FieldError(JSONPointer.root.appending(key), "unknown field; accepted: \(allowed.joined(separator: ", "))"))
            }
            var dryRun = true
            if let value = body["dry_run"] {
                if let b = value.boolValue { dryRun = b } else { errors.append(FieldError(JSONPointer.root.appending("dry_run"), "must be true or false")) }
            }
            if let flow = body["flow"], flow.stringValue == nil { errors.append(FieldError(JSONPointer.root.appending("flow"), "must be a flow name")) }
            if let key = body["key"], key.stringValue == nil { errors.append(FieldError(JSONPointer.root.appending("key"), "must be a business key")) }
            guard errors.isEmpty else { throw GovernanceRoutes.invalid(errors) }
            var filter: [String: JSONValue] = [:]
            if let flow = body["flow"] { filter["flow"] = flow }
            if let key = body["key"] { filter["key"] = key }
            if dryRun {
                let matched = try await deadLetters(matching: .object(filter))
                return GovernanceRoutes.json(.object(["dry_run": true, "matched": .number(String(matched.count)), "filter": .object(filter)]))
            }
            if let approvals, approvals.policy.requires("delivery.replay.bulk") {
                let target = filter.isEmpty ? "all dead letters" : JSONValue.object(filter).canonicalText
                return try await approvals.request(action: "delivery.replay.bulk", target: target, parameters: .object(filter), context: context)
            }
            return GovernanceRoutes.json(try await replay(.object(filter), by: context.actor))
        }
        group.get("messages") { request, context in
            try context.require("events:read")
            var key: String?
            for (name, value) in request.uri.queryParameters {
                guard name == "key" else { throw GovernanceRoutes.badQuery(String(name), "unknown query parameter; accepted: key") }
                key = String(value)
            }
            guard let key, !key.isEmpty else { throw GovernanceRoutes.badQuery("key", "is required: a business key such as WH/MO/00042") }
            return GovernanceRoutes.json(try await story(key))
        }
    }

    /// Dead letters matching a filter `{"flow"?, "key"?}`.
    func deadLetters(matching filter: JSONValue) async throws -> [Delivery] {
        var query = DeliveryQuery(states: [.dead], limit: 10_000)
        query.flow = filter["flow"]?.stringValue
        if let key = filter["key"]?.stringValue {
            var events = EventQuery()
            events.anyKey = key
            events.limit = 1000
            query.eventSeqs = try await store.events(events).map(\.seq)
        }
        return try await deliveries.deliveries(query)
    }

    /// Replays every dead letter matching `filter`, audited as `delivery.replay.bulk`.
    func replay(_ filter: JSONValue, by actor: Governance.Actor) async throws -> JSONValue {
        let matched = try await deadLetters(matching: filter)
        var replayed: [JSONValue] = []
        for d in matched where try await deliveries.replay(d.id, at: now()) {
            replayed.append(.number(String(d.id)))
        }
        try await governance.audit(
            "delivery.replay.bulk", target: "deliveries", by: actor,
            before: .object(["filter": filter, "matched": .number(String(matched.count))]),
            after: .object(["replayed": .number(String(replayed.count))]))
        return .object(["dry_run": false, "matched": .number(String(matched.count)), "replayed": .number(String(replayed.count)), "ids": .array(replayed), "filter": filter])
    }

    func describe(_ flow: Flow) async throws -> JSONValue {
        let counts = try await deliveries.deliveryCounts(flow: flow.name)
        let oldest = try await deliveries.oldestPending(flow: flow.name)
        let done = counts[.done] ?? 0
        let dead = counts[.dead] ?? 0
        let backlog = (counts[.pending] ?? 0) + (counts[.retrying] ?? 0) + (counts[.inFlight] ?? 0)
        var health: [String: JSONValue] = [
            "pending": .number(String(counts[.pending] ?? 0)), "in_flight": .number(String(counts[.inFlight] ?? 0)),
            "retrying": .number(String(counts[.retrying] ?? 0)), "done": .number(String(done)), "dead": .number(String(dead)),
            "backlog": .number(String(backlog)), "breaker": .string(breakerPhase(flow.sink)),
            "oldest_pending_age_seconds": oldest.map { .number(String(Int(max(0, now().timeIntervalSince($0))))) } ?? .null,
            "failure_rate": done + dead == 0 ? .null : .number(String(format: "%.4f", Double(dead) / Double(done + dead))),
        ]
        if let sla = flow.sla, let oldest {
            health["within_sla"] = .bool(now().timeIntervalSince(oldest) <= sla)
        }
        var partition: JSONValue = "event"
        if case .pointer(let p) = flow.partition { partition = .string(p) }
        return .object([
            "name": .string(flow.name), "description": .string(flow.description), "types": .array(flow.types.map(JSONValue.string)),
            "sources": .array(flow.sources.map(JSONValue.string)),
            "exclude_sources": .array(flow.excludedSources.map(JSONValue.string)), "sink": .string(flow.sink), "operation": .string(flow.operation),
            "priority": .string(flow.priority.rawValue), "partition": partition, "sla_seconds": flow.sla.map { .number(String(Int($0))) } ?? .null,
            "retry": flow.retry.schedule.map { ["max_attempts": .number(String(flow.retry.maxAttempts)), "schedule_seconds": Subscription.scheduleJSON($0)] }
                ?? ["max_attempts": .number(String(flow.retry.maxAttempts)), "initial_delay_seconds": .number(String(flow.retry.initialDelay)), "max_delay_seconds": .number(String(flow.retry.maxDelay))],
            "rate_limit": flow.rateLimit?.json ?? .null,
            "health": .object(health),
        ])
    }

    func query(_ request: Request, allowed: [String]) async throws -> DeliveryQuery {
        var query = DeliveryQuery()
        for (name, value) in request.uri.queryParameters {
            let v = String(value)
            switch String(name) {
            case "state" where allowed.contains("state"):
                let states = try v.split(separator: ",").map { s in
                    guard let state = DeliveryState(rawValue: String(s)) else {
                        throw GovernanceRoutes.badQuery("state", "one or more of \(DeliveryState.allCases.map(\.rawValue).joined(separator: ", ")), comma-separated")
                    }
                    return state
                }
                query.states = states
            case "flow" where allowed.contains("flow"):
                query.flow = v
            case "key" where allowed.contains("key"):
                var events = EventQuery()
                events.anyKey = v
                events.limit = 1000
                query.eventSeqs = try await store.events(events).map(\.seq)
            case "after" where allowed.contains("after"):
                guard let after = Int64(v), after >= 0 else { throw GovernanceRoutes.badQuery("after", "must be a delivery id, 0 or more") }
                query.after = after
            case "limit" where allowed.contains("limit"):
                query.limit = try GovernanceRoutes.pageLimit(v)
            default:
                throw GovernanceRoutes.badQuery(String(name), "unknown query parameter; accepted: \(allowed.joined(separator: ", "))")
            }
        }
        return query
    }

    func page(_ query: DeliveryQuery) async throws -> Response {
        var probe = query
        probe.limit = query.limit + 1
        let found = try await deliveries.deliveries(probe)
        let page = found.prefix(query.limit)
        let next: JSONValue = found.count > query.limit ? page.last.map { .number(String($0.id)) } ?? .null : .null
        return GovernanceRoutes.json(.object(["items": .array(page.map { .object(Self.describe($0)) }), "next_after": next]))
    }

    func delivery(_ context: MillwrightRequestContext) async throws -> Delivery {
        guard let id = context.parameters.get("id").flatMap(Int64.init), id > 0 else {
            throw Problem(.notFound, code: ProblemCode.notFound, title: "Not found", detail: "a delivery id is a positive whole number")
        }
        guard let delivery = try await deliveries.delivery(id: id) else {
            throw Problem(.notFound, code: ProblemCode.notFound, title: "Not found", detail: "no delivery \(id)")
        }
        return delivery
    }

    /// Every event carrying `key`, each with its deliveries and their attempts, in log order.
    func story(_ key: String) async throws -> JSONValue {
        var query = EventQuery()
        query.anyKey = key
        query.limit = 500
        var events = try await store.events(query)
        if events.isEmpty {
            query.anyKey = nil
            query.subject = key
            events = try await store.events(query)
        }
        let all = try await deliveries.deliveries(DeliveryQuery(eventSeqs: events.map(\.seq), limit: 5_000))
        var items: [JSONValue] = []
        for event in events {
            var deliveriesJSON: [JSONValue] = []
            for d in all where d.eventSeq == event.seq {
                var json = Self.describe(d)
                json["attempts"] = .array(try await deliveries.attempts(deliveryID: d.id).map(Self.describe))
                deliveriesJSON.append(.object(json))
            }
            items.append(.object([
                "seq": .number(String(event.seq)), "received_at": .string(RFC3339.format(event.receivedAt)),
                "event": (try? JSONParser(maxDepth: 512).parse(event.envelope)) ?? .null, "deliveries": .array(deliveriesJSON),
            ]))
        }
        return .object(["key": .string(key), "items": .array(items)])
    }

    static func describe(_ d: Delivery) -> [String: JSONValue] {
        [
            "id": .number(String(d.id)), "flow": .string(d.flow), "event_seq": .number(String(d.eventSeq)), "partition": .string(d.partition),
            "state": .string(d.state.rawValue), "attempts": .number(String(d.attempts)), "next_attempt_at": .string(RFC3339.format(d.nextAttemptAt)),
            "last_error_code": d.lastErrorCode.map(JSONValue.string) ?? .null, "last_error": d.lastError.map(JSONValue.string) ?? .null,
            "result": d.result.map(JSONValue.string) ?? .null, "created_at": .string(RFC3339.format(d.createdAt)),
            "updated_at": .string(RFC3339.format(d.updatedAt)),
        ]
    }

    static func describe(_ a: DeliveryAttempt) -> JSONValue {
        .object([
            "number": .number(String(a.number)), "started_at": .string(RFC3339.format(a.startedAt)),
            "duration_ms": .number(String(format: "%.3f", Double(a.durationMicroseconds) / 1000)), "outcome": .string(a.outcome.rawValue),
            "error_code": a.errorCode.map(JSONValue.string) ?? .null, "error": a.error.map(JSONValue.string) ?? .null,
            "result": a.result.map(JSONValue.string) ?? .null,
        ])
    }
}

extension OpenAPIDocument {
    /// Paths and schemas of the delivery routes.
    static func deliveryPaths() -> (paths: [String: JSONValue], schemas: [String: JSONValue]) {
        let nullableString: JSONValue = ["type": ["string", "null"]]
        let attempt: JSONValue = [
            "type": "object", "required": ["number", "started_at", "duration_ms", "outcome", "error_code", "error", "result"],
            "properties": [
                "number": ["type": "integer"], "started_at": dateTime, "duration_ms": ["type": "number"], "outcome": ["enum": ["done", "retry", "dead"]],
                "error_code": nullableString, "error": nullableString, "result": nullableString,
            ],
        ]
        let deliveryProperties: [String: JSONValue] = [
            "id": ["type": "integer"], "flow": string, "event_seq": ["type": "integer"], "partition": string,
            "state": .object(["enum": .array(DeliveryState.allCases.map { .string($0.rawValue) })]), "attempts": ["type": "integer"],
            "next_attempt_at": dateTime, "last_error_code": nullableString, "last_error": nullableString, "result": nullableString,
            "created_at": dateTime, "updated_at": dateTime, "attempts_detail": ["type": "array", "items": ref("DeliveryAttempt")],
        ]
        let required: JSONValue = ["id", "flow", "event_seq", "partition", "state", "attempts", "next_attempt_at", "last_error_code", "last_error", "result", "created_at", "updated_at"]
        let delivery: JSONValue = ["type": "object", "required": required, "properties": .object(deliveryProperties)]
        // One delivery in detail: `attempts` is the list of attempts, not their count (as the routes answer).
        var detailProperties = deliveryProperties
        detailProperties["attempts"] = ["type": "array", "items": ref("DeliveryAttempt")]
        let detail: JSONValue = ["type": "object", "required": required, "properties": .object(detailProperties)]
        let schemas: [String: JSONValue] = [
            "DeliveryAttempt": attempt,
            "Xref": ["type": "object", "required": ["system", "kind", "external_id", "value"],
                     "properties": ["system": ["type": "string", "minLength": 1], "kind": ["type": "string", "minLength": 1],
                                    "external_id": ["type": "string", "minLength": 1], "value": ["type": "string", "minLength": 1]]],
            "Delivery": delivery,
            "DeliveryPage": ["type": "object", "required": ["items", "next_after"], "properties": ["items": ["type": "array", "items": ref("Delivery")], "next_after": ["type": ["integer", "null"]]]],
            "DeliveryDetail": detail,
            "FlowList": ["type": "object", "required": ["items"], "properties": ["items": ["type": "array", "items": [
                "type": "object", "required": ["name", "types", "sink", "operation", "priority", "health"],
                "properties": ["name": string, "description": string, "types": ["type": "array", "items": string], "sources": ["type": "array", "items": string],
                               "exclude_sources": ["type": "array", "items": string], "sink": string, "operation": string, "priority": ["enum": ["critical", "normal", "bulk"]], "partition": string,
                               "sla_seconds": ["type": ["integer", "null"]], "retry": ["type": "object"], "health": ["type": "object"],
                               "rate_limit": ["type": ["object", "null"], "properties": ["per_second": ["type": "number"], "burst": ["type": "integer"]]]],
            ]]]],
            "MessageStory": ["type": "object", "required": ["key", "items"], "properties": ["key": string, "items": ["type": "array", "items": [
                "type": "object", "required": ["seq", "received_at", "event", "deliveries"],
                "properties": ["seq": ["type": "integer"], "received_at": dateTime, "event": ["type": "object"], "deliveries": ["type": "array", "items": ref("DeliveryDetail")]],
            ]]]],
        ]
        let id = path("id", ["type": "integer", "minimum": 1])
        let after = query("after", ["type": "integer", "minimum": 0], "Only deliveries with a larger id (the previous page's next_after)")
        let limit = query("limit", ["type": "integer", "minimum": 1, "maximum": 1000], "Page size (default 100)")
        let flow = query("flow", string, "Only this flow")
        let key = query("key", string, "Only deliveries of events carrying this business key (order, product, lot, equipment)")
        let paths: [String: JSONValue] = [
            "/v1/flows": ["get": operation("listFlows", "Flows and their health: backlog, oldest pending age, failure rate, SLA", scope: "flows:read",
                                           responses: ["200": response("Flows", ref("FlowList"))])],
            "/v1/deliveries": ["get": operation("listDeliveries", "Deliveries, filtered", scope: "deliveries:read",
                                                parameters: [query("state", string, "Comma-separated: pending, in_flight, done, retrying, dead"), flow, key, after, limit],
                                                responses: ["200": response("Deliveries", ref("DeliveryPage"))], problemStatuses: [400])],
            "/v1/deliveries/{id}": ["get": operation("getDelivery", "One delivery with every attempt", scope: "deliveries:read", parameters: [id],
                                                     responses: ["200": response("Delivery", ref("DeliveryDetail"))], problemStatuses: [404])],
            "/v1/dead-letters": ["get": operation("listDeadLetters", "Dead letters, with their reason", scope: "deliveries:read",
                                                  parameters: [flow, key, after, limit], responses: ["200": response("Dead letters", ref("DeliveryPage"))], problemStatuses: [400])],
            "/v1/dead-letters/{id}/replay": ["post": operation("replayDeadLetter", "Send a dead letter back to pending (audited)", scope: "deliveries:replay",
                                                               parameters: [id], responses: ["200": response("Replayed", ref("Delivery"))], problemStatuses: [404, 409])],
            "/v1/replays": ["post": operation(
                "replayDeadLetters", "Replay every dead letter matching a filter; dry_run (the default) only counts them. The real run is audited.",
                scope: "deliveries:replay",
                body: .object(["required": true, "content": .object(["application/json": .object(["schema": [
                    "type": "object", "additionalProperties": false,
                    "properties": ["flow": string, "key": string, "dry_run": ["type": "boolean"]],
                ]])])]),
                responses: ["200": response("Counted or replayed", [
                    "type": "object", "required": ["dry_run", "matched", "filter"],
                    "properties": ["dry_run": ["type": "boolean"], "matched": ["type": "integer"], "replayed": ["type": "integer"],
                                   "ids": ["type": "array", "items": ["type": "integer"]], "filter": ["type": "object"]],
                ])], problemStatuses: [400, 413, 422])],
            "/v1/xrefs": [
                "get": operation("listXrefs", "Cross-references (the xref step's tables)", scope: "flows:read",
                                 parameters: [query("system", string, "Only this system"), query("kind", string, "Only this kind"),
                                              query("limit", ["type": "integer", "minimum": 1, "maximum": 10000], "At most (default 1000)")],
                                 responses: ["200": response("Cross-references", ["type": "object", "required": ["items"], "properties": ["items": ["type": "array", "items": ref("Xref")]]])],
                                 problemStatuses: [400]),
                "put": operation("putXrefs", "Insert or replace cross-references (JSON list or CSV with a header line); audited", scope: "xrefs:write",
                                 body: .object(["required": true, "content": .object([
                                     "application/json": .object(["schema": ["type": "array", "items": ref("Xref")]]),
                                     "text/csv": .object(["schema": ["type": "string", "description": "system,kind,external_id,value, then one line each"]]),
                                 ])]),
                                 responses: ["200": response("Stored", ["type": "object", "required": ["stored"], "properties": ["stored": ["type": "integer"]]])],
                                 problemStatuses: [400, 413, 415, 422]),
            ],
            "/v1/xrefs/{system}/{kind}/{id}": ["delete": operation(
                "deleteXref", "Delete one cross-reference; audited", scope: "xrefs:write", parameters: [path("system"), path("kind"), path("id")],
                responses: ["200": response("Deleted", ["type": "object", "required": ["deleted"], "properties": ["deleted": ["type": "boolean"]]])],
                problemStatuses: [404])],
            "/v1/messages": ["get": operation("messageStory", "Everything that happened to one business key: events, deliveries, attempts", scope: "events:read",
                                              parameters: [.object(["name": "key", "in": "query", "required": true, "schema": string, "description": "A business key such as WH/MO/00042"])],
                                              responses: ["200": response("The story", ref("MessageStory"))], problemStatuses: [400])],
        ]
        return (paths, schemas)
    }
}
