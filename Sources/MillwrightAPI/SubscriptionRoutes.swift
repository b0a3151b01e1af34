import Foundation
import Hummingbird
import MillwrightCore
import MillwrightEngine

/// Outbound webhook subscriptions: `/v1/subscriptions` (create, list, change, delete), operator re-enable,
/// secret rotation, the delivery log and replay to one endpoint. See docs/webhooks.md.
struct SubscriptionRoutes {
    let manager: SubscriptionManager
    let store: any Store
    let deliveries: any DeliveryStore
    let maxBodyBytes: Int
    /// The circuit breaker phase of a breaker key (`webhook/<id>`).
    let breakerPhase: @Sendable (String) -> String

    /// Most events one replay request may send again.
    static let maxReplay = 10_000

    func register(on group: RouterGroup<MillwrightRequestContext>) {
        group.post("subscriptions") { request, context in
            try context.require("admin")
            let body = try await GovernanceRoutes.object(request, limit: min(maxBodyBytes, 65_536))
            let changes = try Self.changes(body, creating: true)
            let created = try await Self.mapping { try await manager.create(changes, by: context.subscriptionActor) }
            return GovernanceRoutes.json(Self.withSecret(created, note: "The secret is shown once, here and on rotation. Store it now."), status: .created)
        }
        group.get("subscriptions") { request, context in
            try context.require("flows:read")
            for (name, _) in request.uri.queryParameters {
                throw GovernanceRoutes.badQuery(String(name), "unknown query parameter; this list takes none")
            }
            var items: [JSONValue] = []
            for s in await manager.list() { items.append(try await describe(s)) }
            return GovernanceRoutes.json(.object(["items": .array(items)]))
        }
        group.get("subscriptions/{id}") { _, context in
            try context.require("flows:read")
            return GovernanceRoutes.json(try await describe(try await subscription(context)))
        }
        group.patch("subscriptions/{id}") { request, context in
            try context.require("admin")
            let id = try await subscription(context).id
            let body = try await GovernanceRoutes.object(request, limit: min(maxBodyBytes, 65_536))
            let changes = try Self.changes(body, creating: false)
            var updated = try await subscription(context)
            if body.objectValue?.keys.contains(where: { $0 != "state" && $0 != "state_reason" }) == true {
                updated = try await Self.mapping { try await manager.update(id, changes, by: context.subscriptionActor) }
            }
            if let state = body["state"]?.stringValue.flatMap(Subscription.State.init(rawValue:)), state != updated.state {
                let reason = body["state_reason"]?.stringValue
                updated = try await Self.mapping { try await manager.setState(id, state, reason: reason, by: context.subscriptionActor) }
            }
            return GovernanceRoutes.json(SubscriptionManager.describe(updated))
        }
        group.delete("subscriptions/{id}") { _, context in
            try context.require("admin")
            let id = try await subscription(context).id
            try await Self.mapping { try await manager.delete(id, by: context.subscriptionActor) }
            return GovernanceRoutes.json(.object(["deleted": .string(id)]))
        }
        group.post("subscriptions/{id}/enable") { _, context in
            try context.require("deliveries:replay")
            let id = try await subscription(context).id
            let enabled = try await Self.mapping { try await manager.setState(id, .enabled, reason: nil, by: context.subscriptionActor) }
            return GovernanceRoutes.json(SubscriptionManager.describe(enabled))
        }
        group.post("subscriptions/{id}/rotate-secret") { _, context in
            try context.require("admin")
            let id = try await subscription(context).id
            let rotated = try await Self.mapping { try await manager.rotateSecret(id, by: context.subscriptionActor) }
            return GovernanceRoutes.json(Self.withSecret(rotated, note: "The new secret is shown once. The previous one also signs (a second signature) until previous_secret_valid_until."))
        }
        group.get("subscriptions/{id}/deliveries") { request, context in
            try context.require("deliveries:read")
            let s = try await subscription(context)
            var query = DeliveryQuery(flow: s.flowName)
            for (name, value) in request.uri.queryParameters {
                let v = String(value)
                switch String(name) {
                case "state":
                    query.states = try v.split(separator: ",").map { part in
                        guard let state = DeliveryState(rawValue: String(part)) else {
                            throw GovernanceRoutes.badQuery("state", "one or more of \(DeliveryState.allCases.map(\.rawValue).joined(separator: ", ")), comma-separated")
                        }
                        return state
                    }
                case "after":
                    guard let after = Int64(v), after >= 0 else { throw GovernanceRoutes.badQuery("after", "must be a delivery id, 0 or more") }
                    query.after = after
                case "limit":
                    query.limit = try GovernanceRoutes.pageLimit(v, max: 200)
                default:
                    throw GovernanceRoutes.badQuery(String(name), "unknown query parameter; accepted: state, after, limit")
                }
            }
            var probe = query
            probe.limit = query.limit + 1
            let found = try await deliveries.deliveries(probe)
            let page = Array(found.prefix(query.limit))
            var items: [JSONValue] = []
            for d in page {
                var json = DeliveryRoutes.describe(d)
                json["attempts_detail"] = .array(try await deliveries.attempts(deliveryID: d.id).map(Self.describeAttempt))
                items.append(.object(json))
            }
            let next: JSONValue = found.count > query.limit ? page.last.map { .number(String($0.id)) } ?? .null : .null
            return GovernanceRoutes.json(.object(["items": .array(items), "next_after": next]))
        }
        group.post("subscriptions/{id}/replay") { request, context in
            try context.require("deliveries:replay")
            let s = try await subscription(context)
            let body = try await GovernanceRoutes.object(request, limit: 65_536)
            let events = try await replayEvents(body)
            let ids = try await Self.mapping { try await manager.replay(s.id, events: events, by: context.subscriptionActor) }
            return GovernanceRoutes.json(.object([
                "matched": .number(String(events.count)), "replayed": .number(String(ids.count)), "delivery_ids": .array(ids.map { .number(String($0)) }),
            ]))
        }
    }

    /// A subscription with its `health`: deliveries per state and the endpoint's breaker phase.
    func describe(_ s: Subscription) async throws -> JSONValue {
        guard case .object(var members) = SubscriptionManager.describe(s) else { return .null }
        let counts = try await deliveries.deliveryCounts(flow: s.flowName)
        var health: [String: JSONValue] = ["breaker": .string(breakerPhase("webhook/" + s.id))]
        for state in DeliveryState.allCases { health[state.rawValue] = .number(String(counts[state] ?? 0)) }
        members["health"] = .object(health)
        return .object(members)
    }

    func subscription(_ context: MillwrightRequestContext) async throws -> Subscription {
        let id = context.parameters.get("id") ?? ""
        guard let s = await manager.subscription(id) else {
            throw Problem(.notFound, code: ProblemCode.notFound, title: "Not found", detail: "no subscription '\(id)'")
        }
        return s
    }

    /// The events a replay names: `{"event_seq": n}`, `{"event_id": "…", "source"?: "…"}`, or
    /// `{"since": time, "until"?: time}` (event time, RFC 3339).
    func replayEvents(_ body: JSONValue) async throws -> [StoredEvent] {
        let allowed = ["event_seq", "event_id", "source", "since", "until"]
        var errors: [FieldError] = []
        for key in body.objectValue?.keys.sorted() ?? [] where !allowed.contains(key) {
            errors.append(FieldError(JSONPointer.root.appending(key), "unknown field; accepted: \(allowed.joined(separator: ", "))"))
        }
        let given = ["event_seq", "event_id", "since"].filter { body[$0] != nil }
        if given.count != 1 { errors.append(FieldError(.root, "name the events with exactly one of event_seq, event_id (and source), since (and until)")) }
        var query = EventQuery()
        query.limit = Self.maxReplay + 1
        if let v = body["event_seq"] {
            if case .number(let text) = v, let seq = Int64(text), seq > 0 {
                query.after = seq - 1
                query.limit = 1
            } else {
                errors.append(FieldError(JSONPointer.root.appending("event_seq"), "must be a positive whole number"))
            }
        }
        if let v = body["event_id"] {
            if let id = v.stringValue, !id.isEmpty { query.id = id } else { errors.append(FieldError(JSONPointer.root.appending("event_id"), "must be an event id")) }
        }
        if let v = body["source"] {
            if let source = v.stringValue, !source.isEmpty, body["event_id"] != nil {
                query.source = source
            } else {
                errors.append(FieldError(JSONPointer.root.appending("source"), "an event source, only with event_id"))
            }
        }
        for key in ["since", "until"] {
            guard let v = body[key] else { continue }
            guard let date = v.stringValue.flatMap(RFC3339.parse) else {
                errors.append(FieldError(JSONPointer.root.appending(key), "must be an RFC 3339 time such as 2026-03-01T06:00:00Z"))
                continue
            }
            if key == "since" { query.since = date } else if body["since"] != nil { query.until = date } else {
                errors.append(FieldError(JSONPointer.root.appending("until"), "only with since"))
            }
        }
        guard errors.isEmpty else { throw GovernanceRoutes.invalid(errors) }
        var events = try await store.events(query)
        if let seq = query.after, query.limit == 1 { events = events.filter { $0.seq == seq + 1 } }
        guard events.count <= Self.maxReplay else {
            throw GovernanceRoutes.invalid([FieldError(JSONPointer.root.appending("until"), "more than \(Self.maxReplay) events in the range; replay a shorter one")])
        }
        guard !events.isEmpty else { throw Problem(.notFound, code: ProblemCode.notFound, title: "Not found", detail: "no event matches") }
        return events
    }

    /// Reads a create or update body. Every mistake is reported with its field's pointer.
    static func changes(_ body: JSONValue, creating: Bool) throws -> SubscriptionManager.Changes {
        var allowed = ["url", "types", "filter", "description", "ordered", "disable_after_seconds", "headers", "retry_schedule_seconds", "rate_limit"]
        if !creating { allowed += ["state", "state_reason"] }
        var errors: [FieldError] = []
        var c = SubscriptionManager.Changes()
        func at(_ key: String) -> JSONPointer { JSONPointer.root.appending(key) }
        for key in body.objectValue?.keys.sorted() ?? [] where !allowed.contains(key) {
            errors.append(FieldError(at(key), "unknown field; accepted: \(allowed.joined(separator: ", "))"))
        }
        if let v = body["url"] {
            if let text = v.stringValue, let url = URL(string: text), ["http", "https"].contains(url.scheme?.lowercased() ?? ""), !(url.host ?? "").isEmpty,
                text.utf8.count <= 2_048
            {
                c.url = text
            } else {
                errors.append(FieldError(at("url"), "must be an absolute http:// or https:// URL (at most 2048 bytes)"))
            }
        } else if creating {
            errors.append(FieldError(at("url"), "required: the receiver's http(s) URL"))
        }
        if let v = body["types"] {
            if let list = v.arrayValue, !list.isEmpty, list.count <= 100 {
                var types: [String] = []
                for (i, item) in list.enumerated() {
                    if let t = item.stringValue, !t.isEmpty, t.utf8.count <= 200, !t.contains(" ") { types.append(t) } else {
                        errors.append(FieldError(at("types").appending(i), "an event type or pattern such as mfg.production.*"))
                    }
                }
                c.types = types
            } else {
                errors.append(FieldError(at("types"), "a list of 1 to 100 event types or patterns (mfg.production.*, *)"))
            }
        } else if creating {
            errors.append(FieldError(at("types"), "required: event types or patterns such as [\"mfg.production.*\"]"))
        }
        if let v = body["filter"] {
            switch Subscription.parseFilter(v, at: at("filter")) {
            case .success(let steps): c.filter = steps
            case .failure(let e): errors += e.errors
            }
        }
        if let v = body["description"] {
            if let text = v.stringValue, text.utf8.count <= 1_000 { c.description = text } else { errors.append(FieldError(at("description"), "text, at most 1000 bytes")) }
        }
        if let v = body["ordered"] {
            if let b = v.boolValue { c.ordered = b } else { errors.append(FieldError(at("ordered"), "must be true or false")) }
        }
        if let v = body["disable_after_seconds"] {
            if case .number(let text) = v, let n = Int(text), (60...31_536_000).contains(n) { c.disableAfter = TimeInterval(n) } else {
                errors.append(FieldError(at("disable_after_seconds"), "whole seconds from 60 to 31536000 (a year); default 432000 (5 days)"))
            }
        }
        if let v = body["headers"] {
            if let members = v.objectValue, members.count <= 20 {
                var headers: [String: String] = [:]
                for (name, value) in members.sorted(by: { $0.key < $1.key }) {
                    let reserved = name.lowercased().hasPrefix("webhook-") || ["content-type", "content-length", "host"].contains(name.lowercased())
                    let token = !name.isEmpty && name.utf8.allSatisfy { c in
                        (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5A) || (c >= 0x61 && c <= 0x7A) || c == 0x2D || c == 0x5F
                    }
                    guard token, !reserved else {
                        errors.append(FieldError(at("headers").appending(name), "a header name (letters, digits, - and _), not webhook-*, content-type, content-length or host"))
                        continue
                    }
                    guard let text = value.stringValue, !text.contains("\r"), !text.contains("\n"), text.utf8.count <= 1_000 else {
                        errors.append(FieldError(at("headers").appending(name), "a header value: one line of text, at most 1000 bytes"))
                        continue
                    }
                    headers[name] = text
                }
                c.headers = headers
            } else {
                errors.append(FieldError(at("headers"), "an object of at most 20 header names to values"))
            }
        }
        if let v = body["retry_schedule_seconds"] {
            if let list = v.arrayValue, (1...20).contains(list.count) {
                var delays: [TimeInterval] = []
                for (i, item) in list.enumerated() {
                    if case .number(let text) = item, let n = Int(text), (0...86_400).contains(n) { delays.append(TimeInterval(n)) } else {
                        errors.append(FieldError(at("retry_schedule_seconds").appending(i), "whole seconds from 0 to 86400"))
                    }
                }
                c.schedule = delays
            } else {
                errors.append(FieldError(at("retry_schedule_seconds"), "1 to 20 delays in seconds, the first attempt's first (default [0, 5, 300, 1800, 7200, 18000, 36000])"))
            }
        }
        if let v = body["rate_limit"] {
            // A number (messages a second), {"per_second", "burst"}, or null (no limit).
            func rate(_ value: JSONValue?) -> Double? {
                guard case .number(let text)? = value, let n = Double(text), Flow.RateLimit.perSecondRange.contains(n) else { return nil }
                return n
            }
            switch v {
            case .null: c.rateLimit = .some(nil)
            case .number:
                if let n = rate(v) { c.rateLimit = Flow.RateLimit(perSecond: n) } else {
                    errors.append(FieldError(at("rate_limit"), "messages a second, from 0.001 to 100000"))
                }
            case .object(let members):
                for key in members.keys.sorted() where key != "per_second" && key != "burst" {
                    errors.append(FieldError(at("rate_limit").appending(key), "unknown field; accepted: per_second, burst"))
                }
                let perSecond = rate(members["per_second"])
                if perSecond == nil { errors.append(FieldError(at("rate_limit").appending("per_second"), "required: messages a second, from 0.001 to 100000")) }
                var burst: Int?
                if let b = members["burst"] {
                    if case .number(let text) = b, let n = Int(text), Flow.RateLimit.burstRange.contains(n) { burst = n } else {
                        errors.append(FieldError(at("rate_limit").appending("burst"), "whole messages from 1 to 100000 (default: per_second, at least 1)"))
                    }
                }
                if let perSecond { c.rateLimit = Flow.RateLimit(perSecond: perSecond, burst: burst) }
            default:
                errors.append(FieldError(at("rate_limit"), "a number of messages a second, {\"per_second\", \"burst\"}, or null for no limit"))
            }
        }
        if let v = body["state"], v.stringValue.flatMap(Subscription.State.init(rawValue:)) == nil {
            errors.append(FieldError(at("state"), "enabled or disabled"))
        }
        if let v = body["state_reason"], v.stringValue == nil { errors.append(FieldError(at("state_reason"), "text")) }
        guard errors.isEmpty else { throw GovernanceRoutes.invalid(errors) }
        return c
    }

    static func withSecret(_ s: Subscription, note: String) -> JSONValue {
        guard case .object(var members) = SubscriptionManager.describe(s) else { return .null }
        members["secret"] = .string(s.secret)
        members["previous_secret_valid_until"] = s.previousSecretUntil.map { .string(RFC3339.format($0)) } ?? .null
        members["note"] = .string(note)
        return .object(members)
    }

    /// An attempt with the receiver's HTTP status when it answered (`status_code`).
    static func describeAttempt(_ a: DeliveryAttempt) -> JSONValue {
        guard case .object(var members) = DeliveryRoutes.describe(a) else { return .null }
        let text = a.result ?? a.error ?? ""
        var status: JSONValue = .null
        if text.hasPrefix("HTTP "), let code = Int(text.dropFirst(5).prefix(3)) { status = .number(String(code)) }
        members["status_code"] = status
        return .object(members)
    }

    static func mapping<T>(_ body: () async throws -> T) async throws -> T {
        do {
            return try await body()
        } catch let failure as SubscriptionManager.Failure {
            switch failure.kind {
            case .notFound: throw Problem(.notFound, code: ProblemCode.notFound, title: "Not found", detail: failure.message)
            case .invalid: throw Problem(.unprocessableContent, code: ProblemCode.invalidRequest, title: "Invalid request", detail: failure.message)
            }
        }
    }
}

extension MillwrightRequestContext {
    var subscriptionActor: SubscriptionManager.Actor {
        let actor = self.actor
        return SubscriptionManager.Actor(name: actor.name, origin: actor.origin)
    }
}

extension OpenAPIDocument {
    /// Paths and schemas of the subscription routes.
    static func subscriptionPaths() -> (paths: [String: JSONValue], schemas: [String: JSONValue]) {
        let nullableString: JSONValue = ["type": ["string", "null"]]
        let condition: JSONValue = [
            "type": "object", "required": ["pointer"], "additionalProperties": false,
            "properties": ["pointer": ["type": "string", "description": "A JSON pointer into the CloudEvent, e.g. /data/line"],
                           "equals": .object([:]), "in": ["type": "array"], "exists": ["const": true], "not": ["type": "boolean"]],
        ]
        let writable: [String: JSONValue] = [
            "url": ["type": "string", "format": "uri", "pattern": "^[Hh][Tt][Tt][Pp][Ss]?://", "maxLength": 2048],
            "types": ["type": "array", "minItems": 1, "maxItems": 100, "items": ["type": "string", "minLength": 1, "maxLength": 200, "pattern": "^[^ ]+$"],
                      "description": "Event types; * matches any run of characters (mfg.production.*)"],
            "filter": ["oneOf": [condition, ["type": "array", "items": condition]], "description": "Conditions that must all hold, as the flow filter step"],
            "description": ["type": "string", "maxLength": 1000],
            "ordered": ["type": "boolean", "description": "Deliver messages with the same partition key (partitionkey, else subject) one at a time, in order"],
            "disable_after_seconds": ["type": "integer", "minimum": 60, "maximum": 31_536_000, "description": "Disable the endpoint after failing this long without a success (default 432000, 5 days)"],
            "headers": ["type": "object", "maxProperties": 20, "additionalProperties": ["type": "string", "maxLength": 1000, "pattern": "^[^\\r\\n]*$"],
                        "propertyNames": ["pattern": "^[A-Za-z0-9_-]+$"]],
            "retry_schedule_seconds": ["type": "array", "minItems": 1, "maxItems": 20, "items": ["type": "integer", "minimum": 0, "maximum": 86_400],
                                       "description": "Delay before each attempt; default [0, 5, 300, 1800, 7200, 18000, 36000]"],
            "rate_limit": ["oneOf": [
                ["type": "number", "minimum": .number("0.001"), "maximum": 100_000],
                ["type": "object", "required": ["per_second"], "additionalProperties": false, "properties": [
                    "per_second": ["type": "number", "minimum": .number("0.001"), "maximum": 100_000], "burst": ["type": "integer", "minimum": 1, "maximum": 100_000],
                ]],
                ["type": "null"],
            ], "description": "At most this many messages a second to the endpoint (burst: at once after a quiet period; default the rate, at least 1); null: no limit"],
        ]
        var readProperties = writable
        readProperties["id"] = ["type": "string"]
        readProperties["state"] = ["enum": ["enabled", "disabled"]]
        readProperties["state_reason"] = nullableString
        readProperties["state_since"] = dateTime
        readProperties["failing_since"] = nullableDateTime
        readProperties["flow"] = string
        readProperties["health"] = ["type": "object", "description": "Deliveries per state (pending, in_flight, done, retrying, dead) and the endpoint's breaker phase",
                                    "properties": ["breaker": ["enum": ["closed", "open", "half-open"]]]]
        readProperties["created_at"] = dateTime
        readProperties["updated_at"] = dateTime
        readProperties["url"] = string
        readProperties["filter"] = ["type": "array", "items": condition]
        readProperties["rate_limit"] = ["type": ["object", "null"], "properties": ["per_second": ["type": "number"], "burst": ["type": "integer"]]]
        let subscription: JSONValue = [
            "type": "object",
            "required": ["id", "url", "types", "filter", "description", "ordered", "state", "state_reason", "state_since", "disable_after_seconds",
                         "failing_since", "headers", "retry_schedule_seconds", "flow", "created_at", "updated_at"],
            "properties": .object(readProperties),
        ]
        let schemas: [String: JSONValue] = [
            "Subscription": subscription,
            "SubscriptionWithSecret": ["allOf": [ref("Subscription"), [
                "type": "object", "required": ["secret"],
                "properties": ["secret": ["type": "string", "pattern": "^whsec_"], "previous_secret_valid_until": nullableDateTime, "note": string],
            ]]],
            "SubscriptionCreate": ["type": "object", "required": ["url", "types"], "additionalProperties": false, "properties": .object(writable)],
            "SubscriptionUpdate": ["type": "object", "additionalProperties": false, "properties": .object(writable.merging([
                "state": ["enum": ["enabled", "disabled"]], "state_reason": string,
            ]) { current, _ in current })],
            "SubscriptionDeliveryPage": ["type": "object", "required": ["items", "next_after"], "properties": [
                "items": ["type": "array", "items": ["allOf": [ref("Delivery"), ["type": "object", "properties": ["attempts_detail": ["type": "array", "items": [
                    "allOf": [ref("DeliveryAttempt"), ["type": "object", "properties": ["status_code": ["type": ["integer", "null"]]]]],
                ]]]]]]],
                "next_after": ["type": ["integer", "null"]],
            ]],
        ]
        func json(_ schema: JSONValue) -> JSONValue { .object(["required": true, "content": .object(["application/json": .object(["schema": schema])])]) }
        let id = path("id")
        let paths: [String: JSONValue] = [
            "/v1/subscriptions": [
                "post": operation("createSubscription", "Create an outbound webhook subscription; the signing secret is returned once (audited)", scope: "admin",
                                  body: json(ref("SubscriptionCreate")), responses: ["201": response("Created", ref("SubscriptionWithSecret"))],
                                  problemStatuses: [400, 413, 422]),
                "get": operation("listSubscriptions", "Every subscription with its state (never its secret)", scope: "flows:read",
                                 responses: ["200": response("Subscriptions", ["type": "object", "required": ["items"], "properties": ["items": ["type": "array", "items": ref("Subscription")]]])],
                                 problemStatuses: [400]),
            ],
            "/v1/subscriptions/{id}": [
                "get": operation("getSubscription", "One subscription", scope: "flows:read", parameters: [id],
                                 responses: ["200": response("The subscription", ref("Subscription"))], problemStatuses: [404]),
                "patch": operation("updateSubscription", "Change a subscription (audited); state: disabled holds its messages", scope: "admin", parameters: [id],
                                   body: json(ref("SubscriptionUpdate")), responses: ["200": response("Changed", ref("Subscription"))],
                                   problemStatuses: [400, 404, 413, 422]),
                "delete": operation("deleteSubscription", "Delete a subscription (audited); its undelivered messages are no longer attempted", scope: "admin",
                                    parameters: [id], responses: ["200": response("Deleted", ["type": "object", "required": ["deleted"], "properties": ["deleted": string]])],
                                    problemStatuses: [404]),
            ],
            "/v1/subscriptions/{id}/enable": ["post": operation(
                "enableSubscription", "Re-enable a disabled endpoint (audited): its held messages are due at once", scope: "deliveries:replay", parameters: [id],
                responses: ["200": response("Enabled", ref("Subscription"))], problemStatuses: [404])],
            "/v1/subscriptions/{id}/rotate-secret": ["post": operation(
                "rotateSubscriptionSecret", "A new signing secret, returned once; the old one also signs for 24 hours (audited)", scope: "admin", parameters: [id],
                responses: ["200": response("Rotated", ref("SubscriptionWithSecret"))], problemStatuses: [404])],
            "/v1/subscriptions/{id}/deliveries": ["get": operation(
                "listSubscriptionDeliveries", "The delivery log: every message with every attempt (time, duration, HTTP status, error)", scope: "deliveries:read",
                parameters: [id, query("state", string, "Comma-separated: pending, in_flight, done, retrying, dead"),
                             query("after", ["type": "integer", "minimum": 0], "Only deliveries with a larger id (the previous page's next_after)"),
                             query("limit", ["type": "integer", "minimum": 1, "maximum": 200], "Page size (default 100)")],
                responses: ["200": response("Deliveries", ref("SubscriptionDeliveryPage"))], problemStatuses: [400, 404])],
            "/v1/subscriptions/{id}/replay": ["post": operation(
                "replaySubscription", "Send past events to this one endpoint again: one by event_seq or event_id (+ source), or every one in [since, until) (audited)",
                scope: "deliveries:replay", parameters: [id],
                body: json(["type": "object", "additionalProperties": false, "properties": [
                    "event_seq": ["type": "integer", "minimum": 1], "event_id": ["type": "string", "minLength": 1], "source": ["type": "string", "minLength": 1],
                    "since": dateTime, "until": dateTime,
                ]]),
                responses: ["200": response("Replayed", ["type": "object", "required": ["matched", "replayed", "delivery_ids"], "properties": [
                    "matched": ["type": "integer"], "replayed": ["type": "integer"], "delivery_ids": ["type": "array", "items": ["type": "integer"]],
                ]])],
                problemStatuses: [400, 404, 413, 422])],
        ]
        return (paths, schemas)
    }
}
