import Foundation
import HTTPTypes
import Hummingbird
import NIOCore
import MillwrightCore
import MillwrightEngine

/// `POST /v1/events` and `GET /v1/events`.
struct EventRoutes {
    let ingestor: Ingestor
    let store: any Store
    let configuration: APIConfiguration

    var parser: JSONParser { JSONParser(maxDepth: configuration.maxJSONDepth) }

    func register(on group: RouterGroup<MillwrightRequestContext>) {
        group.post("events") { request, context in try await post(request, context: context) }
        group.get("events") { request, context in try await list(request, context: context) }
        group.get("events/{seq}") { request, context in try await one(request, context: context) }
    }

    // MARK: POST

    enum Mode { case structured, binary, batch }

    func post(_ request: Request, context: MillwrightRequestContext) async throws -> Response {
        let mode = try Self.mode(of: request)
        let body = try await collectBody(request)
        switch mode {
        case .batch: return try await postBatch(body, context: context)
        case .structured, .binary:
            let json: JSONValue
            do { json = try parser.parse(body.readableBytesView) } catch { throw Problem.syntax(error) }
            // Scope first: a client may not learn how an event it may not publish would be judged.
            let claimedType = mode == .binary ? request.headers[.ceType] : json["type"]?.stringValue
            if let claimedType { try context.require("events:publish:\(claimedType)") }
            let new: NewEvent
            do {
                if mode == .binary {
                    let headers = request.headers.map { (name: $0.name.rawName, value: $0.value) }
                    new = try ingestor.decoder.decodeBinary(headers: headers, data: json)
                } else {
                    new = try ingestor.decoder.decode(json)
                }
            } catch {
                ingestor.recordRejected(type: claimedType, errors: error.errors)
                throw Problem.rejection(error)
            }
            try context.require("events:publish:\(new.event.type)")
            let outcomes = try await ingest([new])
            guard let outcome = outcomes.first else { throw Problem.unavailable("the store returned no outcome") }
            switch outcome {
            case .created(let stored):
                return Self.json(Self.storedJSON(stored), status: .created, location: "/v1/events/\(stored.seq)")
            case .duplicate(let stored):
                return Self.json(Self.storedJSON(stored), status: .ok, location: "/v1/events/\(stored.seq)")
            case .conflict(let existing, let conflictID):
                throw Self.conflictProblem(existing: existing, conflictID: conflictID)
            }
        }
    }

    func postBatch(_ body: ByteBuffer, context: MillwrightRequestContext) async throws -> Response {
        let json: JSONValue
        do { json = try parser.parse(body.readableBytesView) } catch { throw Problem.syntax(error) }
        guard case .array(let items) = json else {
            throw Problem(.badRequest, code: ProblemCode.malformedJSON, title: "Not a batch",
                          detail: "An application/cloudevents-batch+json body must be a JSON array of events, not \(json.kindDescription).")
        }
        guard items.count <= configuration.maxBatchEvents else {
            throw Problem(.contentTooLarge, code: ProblemCode.batchTooLarge, title: "Batch too large",
                          detail: "The batch holds \(items.count) events; the limit is \(configuration.maxBatchEvents). Split it into smaller batches.",
                          extensions: ["limit": .number(String(configuration.maxBatchEvents))])
        }
        enum Slot { case pending(Int), rejected(Problem) }
        var slots: [Slot] = []
        var accepted: [NewEvent] = []
        for item in items {
            do {
                let new = try ingestor.decoder.decode(item)
                if let principal = context.principal, !principal.allows("events:publish:\(new.event.type)") {
                    slots.append(.rejected(.forbidden("events:publish:\(new.event.type)")))
                    continue
                }
                slots.append(.pending(accepted.count))
                accepted.append(new)
            } catch {
                ingestor.recordRejected(type: item["type"]?.stringValue, errors: error.errors)
                slots.append(.rejected(.rejection(error)))
            }
        }
        let outcomes = try await ingest(accepted)
        var results: [String] = []
        results.reserveCapacity(items.count)
        for (index, slot) in slots.enumerated() {
            switch slot {
            case .rejected(let problem):
                results.append(#"{"index":\#(index),"status":"rejected","problem":\#(problem.json.canonicalText)}"#)
            case .pending(let position):
                switch outcomes[position] {
                case .created(let stored):
                    results.append(#"{"index":\#(index),"status":"created",\#(Self.storedMembers(stored))}"#)
                case .duplicate(let stored):
                    results.append(#"{"index":\#(index),"status":"duplicate",\#(Self.storedMembers(stored))}"#)
                case .conflict(let existing, let conflictID):
                    let problem = Self.conflictProblem(existing: existing, conflictID: conflictID)
                    results.append(#"{"index":\#(index),"status":"conflict","problem":\#(problem.json.canonicalText)}"#)
                }
            }
        }
        return Self.json("{\"results\":[" + results.joined(separator: ",") + "]}", status: .ok)
    }

    func ingest(_ events: [NewEvent]) async throws -> [AppendOutcome] {
        do {
            return try await ingestor.ingest(events)
        } catch let error as CommitError {
            throw Problem.unavailable(error.message)
        } catch {
            throw Problem.unavailable("the event log could not commit; nothing of this request was stored")
        }
    }

    static func mode(of request: Request) throws -> Mode {
        guard let contentType = request.headers[.contentType] else {
            throw unsupported("The request has no Content-Type. Send application/cloudevents+json (one event), application/cloudevents-batch+json (an array), or binary mode with ce-* headers and a JSON body.")
        }
        let essence = contentType.split(separator: ";", maxSplits: 1).first
            .map { $0.trimmingCharacters(in: .whitespaces).lowercased() } ?? ""
        if essence == "application/cloudevents-batch+json" { return .batch }
        if request.headers[.ceSpecVersion] != nil {
            guard EventDecoder.isJSONMediaType(essence), essence != "application/cloudevents+json" else {
                throw unsupported("Binary-mode events must carry JSON data: Content-Type application/json.")
            }
            return .binary
        }
        if essence == "application/cloudevents+json" || essence == "application/json" { return .structured }
        throw unsupported("Content-Type '\(essence.prefix(64))' is not accepted. Send application/cloudevents+json, application/json, or application/cloudevents-batch+json.")
    }

    static func unsupported(_ detail: String) -> Problem {
        Problem(.unsupportedMediaType, code: ProblemCode.unsupportedMediaType, title: "Unsupported media type", detail: detail)
    }

    func collectBody(_ request: Request) async throws -> ByteBuffer {
        let limit = configuration.maxBodyBytes
        if let length = request.headers[.contentLength].flatMap(Int.init), length > limit {
            throw Self.tooLarge(limit)
        }
        do {
            return try await request.body.collect(upTo: limit)
        } catch is NIOTooManyBytesError {
            throw Self.tooLarge(limit)
        }
    }

    static func tooLarge(_ limit: Int) -> Problem {
        Problem(.contentTooLarge, code: ProblemCode.bodyTooLarge, title: "Body too large",
                detail: "The body exceeds the limit of \(limit) bytes (limits.max_body_bytes).",
                extensions: ["limit": .number(String(limit))])
    }

    static func conflictProblem(existing: StoredEvent, conflictID: Int64) -> Problem {
        Problem(.conflict, code: ProblemCode.conflict, title: "Conflicting event",
                detail: "An event with source '\(existing.source)' and id '\(existing.id)' is already stored (seq \(existing.seq)) with different content. The stored event is unchanged; this submission is kept for inspection as conflict \(conflictID). Send a correction under a new id.",
                extensions: ["existing_seq": .number(String(existing.seq)), "conflict_id": .number(String(conflictID))])
    }

    // MARK: GET

    static let listParameters: Set<String> = [
        "type", "source", "id", "subject", "order", "product", "lot", "equipment", "key", "since", "until", "after", "limit", "last",
    ]

    func list(_ request: Request, context: MillwrightRequestContext) async throws -> Response {
        try context.require("events:read")
        var query = EventQuery()
        var errors: [FieldError] = []
        var seen: Set<String> = []
        for (name, value) in request.uri.queryParameters {
            let key = String(name)
            let v = String(value)
            let pointer = JSONPointer.root.appending(key)
            guard Self.listParameters.contains(key) else {
                errors.append(FieldError(pointer, "unknown query parameter; accepted: \(Self.listParameters.sorted().joined(separator: ", "))"))
                continue
            }
            guard seen.insert(key).inserted else {
                errors.append(FieldError(pointer, "given more than once"))
                continue
            }
            switch key {
            case "type": query.type = v
            case "source": query.source = v
            case "id": query.id = v
            case "subject": query.subject = v
            case "order": query.keys.append(BusinessKey(.order, v))
            case "product": query.keys.append(BusinessKey(.product, v))
            case "lot": query.keys.append(BusinessKey(.lot, v))
            case "equipment": query.keys.append(BusinessKey(.equipment, v))
            case "key": query.anyKey = v
            case "since", "until":
                guard let date = RFC3339.parse(v) else {
                    errors.append(FieldError(pointer, "must be an RFC 3339 time with offset, e.g. 2026-11-22T10:15:00Z"))
                    continue
                }
                if key == "since" { query.since = date } else { query.until = date }
            case "after":
                guard let seq = Int64(v), seq >= 0 else {
                    errors.append(FieldError(pointer, "must be a log position (a whole number, 0 or more)"))
                    continue
                }
                query.after = seq
            case "limit":
                guard let limit = Int(v), (1...1000).contains(limit) else {
                    errors.append(FieldError(pointer, "must be a whole number from 1 to 1000"))
                    continue
                }
                query.limit = limit
            case "last":
                guard let last = Int(v), (1...1000).contains(last) else {
                    errors.append(FieldError(pointer, "must be a whole number from 1 to 1000"))
                    continue
                }
                query.limit = last
                query.newestFirst = true
            default: break
            }
        }
        if query.newestFirst && (seen.contains("after") || seen.contains("limit")) {
            errors.append(FieldError(JSONPointer.root.appending("last"), "cannot be combined with after or limit: last=N returns the newest N events; page forward from its next_after"))
        }
        if !errors.isEmpty {
            throw Problem(.badRequest, code: ProblemCode.badQuery, title: "Invalid query",
                          detail: "The query has \(errors.count) problem(s), listed in errors (pointers name the query parameter).",
                          errors: errors)
        }
        let limit = query.limit
        let page: ArraySlice<StoredEvent>
        let next: String
        if query.newestFirst {
            // The newest N: continue forward from the newest one.
            page = try await store.events(query)[...]
            next = page.last.map { String($0.seq) } ?? (query.after.map(String.init) ?? "0")
        } else {
            query.limit = limit + 1  // one more tells whether another page exists
            let found = try await store.events(query)
            page = found.prefix(limit)
            next = found.count > limit ? page.last.map { String($0.seq) } ?? "null" : "null"
        }
        let items = page.map { "{" + Self.storedMembers($0) + "}" }.joined(separator: ",")
        return Self.json("{\"items\":[\(items)],\"next_after\":\(next)}", status: .ok)
    }

    func one(_ request: Request, context: MillwrightRequestContext) async throws -> Response {
        try context.require("events:read")
        guard let seq = context.parameters.get("seq").flatMap(Int64.init), seq > 0 else {
            throw Problem(.notFound, code: ProblemCode.notFound, title: "Not found", detail: "Events are addressed by their log position (a positive whole number).")
        }
        var query = EventQuery()
        query.after = seq - 1
        query.limit = 1
        guard let event = try await store.events(query).first, event.seq == seq else {
            throw Problem(.notFound, code: ProblemCode.notFound, title: "Not found", detail: "No event at log position \(seq).")
        }
        return Self.json(Self.storedJSON(event), status: .ok)
    }

    // MARK: encoding

    static func storedMembers(_ stored: StoredEvent) -> String {
        #""seq":\#(stored.seq),"received_at":"\#(RFC3339.format(stored.receivedAt))","event":\#(stored.envelope)"#
    }

    static func storedJSON(_ stored: StoredEvent) -> String { "{" + storedMembers(stored) + "}" }

    static func json(_ text: String, status: HTTPResponse.Status, location: String? = nil) -> Response {
        var headers: HTTPFields = [.contentType: "application/json"]
        if let location { headers[.location] = location }
        return Response(status: status, headers: headers, body: .init(byteBuffer: ByteBuffer(string: text)))
    }
}

extension Problem {
    static func unavailable(_ detail: String) -> Problem {
        var headers = HTTPFields()
        headers[.retryAfter] = "1"
        return Problem(.serviceUnavailable, code: ProblemCode.unavailable, title: "Unavailable", detail: detail, headers: headers)
    }
}

extension HTTPField.Name {
    // Both literals are valid header names; the fallback only satisfies the optional initialiser.
    static let ceType = HTTPField.Name("ce-type") ?? .contentType
    static let ceSpecVersion = HTTPField.Name("ce-specversion") ?? .contentType
}
