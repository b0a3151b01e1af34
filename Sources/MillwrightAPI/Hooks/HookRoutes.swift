import Crypto
import Foundation
import HTTPTypes
import Hummingbird
import Logging
import MillwrightCore
import MillwrightEngine
import NIOCore
import Synchronization

/// `POST /v1/hooks/{source}` and `POST /v1/hooks/{source}/{secret}`: inbound webhooks.
///
/// A hook is not called with a bearer token: each source is verified its own way (Standard Webhooks
/// signature, shared-secret header, network allow-list, secret in the path). A verified payload is mapped
/// to a canonical event and appended through the same ingest path as `POST /v1/events`.
struct HookRoutes {
    let sources: [String: HookSource]
    let ingestor: Ingestor
    let store: any Store
    let configuration: APIConfiguration
    let concurrency: HookConcurrency
    let now: @Sendable () -> Date

    init(sources: [HookSource], ingestor: Ingestor, store: any Store, configuration: APIConfiguration, now: @escaping @Sendable () -> Date) {
        self.sources = Dictionary(sources.map { ($0.name, $0) }, uniquingKeysWith: { first, _ in first })
        self.ingestor = ingestor
        self.store = store
        self.configuration = configuration
        self.concurrency = HookConcurrency()
        self.now = now
    }

    func register(on router: Router<MillwrightRequestContext>) {
        router.post("v1/hooks/{source}") { request, context in
            try await receive(request, context: context, pathSecret: nil)
        }
        router.post("v1/hooks/{source}/{secret}") { request, context in
            try await receive(request, context: context, pathSecret: context.parameters.get("secret") ?? "")
        }
    }

    func receive(_ request: Request, context: MillwrightRequestContext, pathSecret: String?) async throws -> Response {
        let name = context.parameters.get("source") ?? ""
        // An Odoo source is only reachable with its path secret, and only Odoo sources have one.
        guard let source = sources[name], source.isOdoo == (pathSecret != nil) else {
            throw Problem(.notFound, code: ProblemCode.notFound, title: "Not found", detail: "No hook source at this address.")
        }
        var logger = context.logger
        logger[metadataKey: "mw.hook.source"] = "\(name)"

        if !source.allow.isEmpty {
            guard let peer = context.remoteAddress, source.allow.contains(peer) else {
                logger.notice("hook call refused: address not allowed", metadata: ["mw.peer": "\(context.remoteAddress ?? "unknown")"])
                throw Problem(.forbidden, code: ProblemCode.addressNotAllowed, title: "Forbidden",
                              detail: "This address may not call this hook source.")
            }
        }
        guard concurrency.enter(name, limit: source.maxConcurrent) else {
            throw Problem.rateLimited(retryAfter: 1, detail:
                "This hook source has \(source.maxConcurrent) calls in progress, its limit (hooks.\(name).max_concurrent). Retry shortly.")
        }
        defer { concurrency.leave(name) }

        let body = try await collectBody(request)
        let bytes = Array(body.readableBytesView)
        var receipt: (id: String, until: Date)?
        switch source.verification {
        case .standardWebhooks(let verifier):
            let at = now()
            let id = request.headers[.webhookID]
            let sent: Date
            do {
                sent = try verifier.verify(id: id, timestamp: request.headers[.webhookTimestamp], signatures: request.headers[.webhookSignature], body: bytes, now: at)
            } catch {
                logger.notice("hook call refused", metadata: ["mw.reason": "\(error)"])
                throw Self.unverified(error.description)
            }
            if let id {
                let until = max(sent, at).addingTimeInterval(verifier.tolerance)
                guard try await store.recordHookReceipt(source: name, id: id, now: at, until: until) else {
                    logger.notice("hook call refused: replayed webhook-id", metadata: ["mw.event.id": "\(id)"])
                    throw Problem(.conflict, code: ProblemCode.webhookReplayed, title: "Replayed webhook",
                                  detail: "This webhook-id was already received within the tolerance window.")
                }
                receipt = (id, until)
            }
        case .sharedSecret(let header, let secret):
            guard let given = request.headers[header], Self.secretsEqual(given, secret) else {
                logger.notice("hook call refused: shared secret mismatch")
                throw Self.unverified("secret mismatch")
            }
        case .odoo(let expected):
            guard let pathSecret, Self.secretsEqual(pathSecret, expected) else {
                logger.notice("hook call refused: path secret mismatch")
                throw Self.unverified("secret mismatch")
            }
        case .none:
            break
        }

        do {
            let response = try await ingest(bytes, source: source, webhookID: receipt?.id, logger: logger)
            return response
        } catch {
            // Nothing was stored: let the sender deliver the same message again.
            if let receipt { try? await store.forgetHookReceipt(source: name, id: receipt.id) }
            throw error
        }
    }

    func ingest(_ bytes: [UInt8], source: HookSource, webhookID: String?, logger: Logger) async throws -> Response {
        let payload: JSONValue
        do { payload = try JSONParser(maxDepth: configuration.maxJSONDepth).parse(bytes) } catch { throw Problem.syntax(error) }
        let json: JSONValue
        do {
            json = try Self.event(from: payload, source: source, webhookID: webhookID)
        } catch {
            throw Problem(.unprocessableContent, code: ProblemCode.invalidData, title: "Payload does not fit this hook's mapping",
                          detail: "The payload lacks what the hook source's mapping needs: \(error.field.pointer) \(error.field.detail) (a pointer into the payload).",
                          errors: [error.field])
        }
        let new: NewEvent
        do {
            new = try ingestor.decoder.decode(json)
        } catch {
            ingestor.recordRejected(type: json["type"]?.stringValue, errors: error.errors)
            throw Problem.rejection(error)
        }
        let outcomes: [AppendOutcome]
        do {
            outcomes = try await ingestor.ingest([new])
        } catch let error as CommitError {
            throw Problem.unavailable(error.message)
        } catch {
            throw Problem.unavailable("the event log could not commit; nothing of this request was stored")
        }
        guard let outcome = outcomes.first else { throw Problem.unavailable("the store returned no outcome") }
        switch outcome {
        case .created(let stored):
            logger.debug("hook call stored", metadata: ["mw.event.seq": "\(stored.seq)"])
            return EventRoutes.json(EventRoutes.storedJSON(stored), status: .created, location: "/v1/events/\(stored.seq)")
        case .duplicate(let stored):
            return EventRoutes.json(EventRoutes.storedJSON(stored), status: .ok, location: "/v1/events/\(stored.seq)")
        case .conflict(let existing, let conflictID):
            throw EventRoutes.conflictProblem(existing: existing, conflictID: conflictID)
        }
    }

    /// The CloudEvent a payload maps to, before validation against its canonical type.
    static func event(from payload: JSONValue, source: HookSource, webhookID: String?) throws(HookMappingError) -> JSONValue {
        let mapping = source.mapping
        var members: [String: JSONValue] = [
            "specversion": "1.0",
            "source": .string(mapping.source ?? "hooks/\(source.name)"),
            "datacontenttype": "application/json",
        ]
        if case .odoo = source.verification {
            members["type"] = .string(OdooRecordChanged.eventType)
            guard case .string(let model)? = payload["_model"] else {
                throw HookMappingError(JSONPointer.root.appending("_model"), "is required: an Odoo webhook names the record's model in _model")
            }
            guard case .number(let recordID)? = payload["_id"] else {
                throw HookMappingError(JSONPointer.root.appending("_id"), "is required: an Odoo webhook names the record's id in _id")
            }
            var data: [String: JSONValue] = ["model": .string(model), "record_id": .number(recordID)]
            if let action = payload["_action"], action != .null { data["action"] = action }
            let others = (payload.objectValue ?? [:]).keys.filter { !$0.hasPrefix("_") }.sorted()
            if !others.isEmpty { data["fields"] = .array(others.map { .string($0) }) }
            members["data"] = .object(data)
            members["subject"] = .string("odoo/\(model)/\(recordID)")
            members["partitionkey"] = .string("odoo/\(model)/\(recordID)")
        } else {
            members["type"] = .string(mapping.type ?? "")
            if let pointer = mapping.data {
                guard let data = HookTemplate.resolve(pointer, in: payload) else {
                    throw HookMappingError(JSONPointer(rawValue: pointer), "is required: this hook source's data is taken from here")
                }
                members["data"] = data
            } else {
                members["data"] = payload
            }
        }
        members["id"] = .string(try mapping.id?.render(payload) ?? webhookID ?? UUID().uuidString.lowercased())
        if let t = mapping.subject { members["subject"] = .string(try t.render(payload)) }
        if let t = mapping.time { members["time"] = .string(try t.render(payload)) }
        if let t = mapping.partitionKey { members["partitionkey"] = .string(try t.render(payload)) }
        return .object(members)
    }

    func collectBody(_ request: Request) async throws -> ByteBuffer {
        let limit = configuration.maxBodyBytes
        if let length = request.headers[.contentLength].flatMap(Int.init), length > limit {
            throw EventRoutes.tooLarge(limit)
        }
        do {
            return try await request.body.collect(upTo: limit)
        } catch is NIOTooManyBytesError {
            throw EventRoutes.tooLarge(limit)
        }
    }

    /// 401 with as little as a forger could use: which check failed, never what was expected.
    static func unverified(_ reason: String) -> Problem {
        Problem(.unauthorized, code: ProblemCode.webhookUnverified, title: "Unauthorized", detail: "Webhook verification failed: \(reason).")
    }

    /// Constant-time comparison of two secrets of any length: their SHA-256 digests are compared.
    static func secretsEqual(_ a: String, _ b: String) -> Bool {
        StandardWebhooksVerifier.constantTimeEqual(Array(SHA256.hash(data: Array(a.utf8))), Array(SHA256.hash(data: Array(b.utf8))))
    }
}

/// Calls in progress per hook source, so one busy sender cannot take every worker.
final class HookConcurrency: Sendable {
    let inFlight = Mutex<[String: Int]>([:])

    func enter(_ source: String, limit: Int) -> Bool {
        inFlight.withLock { counts in
            let n = counts[source, default: 0]
            guard n < limit else { return false }
            counts[source] = n + 1
            return true
        }
    }

    func leave(_ source: String) {
        inFlight.withLock { counts in
            let n = counts[source, default: 1] - 1
            counts[source] = n > 0 ? n : nil
        }
    }
}

extension HTTPField.Name {
    // Valid header names; the fallback only satisfies the optional initialiser.
    static let webhookID = HTTPField.Name("webhook-id") ?? .contentType
    static let webhookTimestamp = HTTPField.Name("webhook-timestamp") ?? .contentType
    static let webhookSignature = HTTPField.Name("webhook-signature") ?? .contentType
}
