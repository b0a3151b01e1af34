import ArgumentParser
import AsyncHTTPClient
import Foundation
import MillwrightCore
import NIOCore
import NIOHTTP1

struct Events: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Send events to a running node, or follow its event log.",
        subcommands: [Send.self, Tail.self]
    )
}

/// Where the server is and how to authenticate, shared by the client commands.
struct ClientOptions: ParsableArguments {
    @Option(help: "Base URL of the node. Env: MILLWRIGHT_URL. Default: http://127.0.0.1:8080.")
    var url: String?
    @Option(help: "Bearer token. Env: MILLWRIGHT_TOKEN, then MILLWRIGHT_ADMIN_TOKEN, then <data>/admin.token.")
    var token: String?
    @Option(help: "Data directory whose admin.token to use when no token is given.")
    var data: String = "./data"

    func baseURL() -> String {
        let env = ProcessInfo.processInfo.environment
        var base = url ?? env["MILLWRIGHT_URL"] ?? "http://127.0.0.1:8080"
        while base.hasSuffix("/") { base.removeLast() }
        return base
    }

    func bearer() throws -> String {
        let env = ProcessInfo.processInfo.environment
        if let token { return token }
        if let t = env["MILLWRIGHT_TOKEN"], !t.isEmpty { return t }
        if let t = env["MILLWRIGHT_ADMIN_TOKEN"], !t.isEmpty { return t }
        let path = (data as NSString).appendingPathComponent("admin.token")
        if let text = try? String(contentsOfFile: path, encoding: .utf8) {
            let t = text.trimmingCharacters(in: .whitespacesAndNewlines)
            if !t.isEmpty { return t }
        }
        throw ValidationError("no token: pass --token, set MILLWRIGHT_TOKEN, or point --data at a directory with admin.token")
    }

    func execute(_ request: HTTPClientRequest) async throws -> (status: HTTPResponseStatus, body: String) {
        let response: HTTPClientResponse
        do {
            response = try await HTTPClient.shared.execute(request, timeout: .seconds(60))
        } catch {
            throw CLIError("cannot reach \(baseURL()): \(error). Is 'millwright serve' running there?")
        }
        let body = try await response.body.collect(upTo: 64 * 1024 * 1024)
        return (response.status, String(buffer: body))
    }
}

struct CLIError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

struct Send: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Send events from a file (or - for standard input).",
        discussion: """
            The input is one CloudEvent (a JSON object), a JSON array of events, or JSON lines (one event a line). \
            Several events go in batches of --batch-size. Prints one line per event: created, duplicate, conflict \
            or rejected, and exits 1 if any was not accepted.
            """
    )

    @Argument(help: "A JSON or JSON-lines file, or - for standard input.")
    var file: String
    @Option(help: "Events per batch request (at most the server's limits.max_batch_events).")
    var batchSize: Int = 500
    @OptionGroup var client: ClientOptions

    func run() async throws {
        let data: Data
        if file == "-" {
            data = FileHandle.standardInput.readDataToEndOfFile()
        } else {
            guard let d = FileManager.default.contents(atPath: file) else { throw ValidationError("cannot read \(file)") }
            data = d
        }
        let events = try Self.events(in: Array(data), name: file)
        guard !events.isEmpty else { throw ValidationError("\(file) holds no events") }
        let token = try client.bearer()
        var failures = 0
        if events.count == 1, let only = events.first {
            var request = HTTPClientRequest(url: client.baseURL() + "/v1/events")
            request.method = .POST
            request.headers.add(name: "Content-Type", value: "application/cloudevents+json")
            request.headers.add(name: "Authorization", value: "Bearer \(token)")
            request.body = .bytes(ByteBuffer(string: only.canonicalText))
            let (status, body) = try await client.execute(request)
            failures += Self.report(status: status, body: body, index: 0, event: only)
        } else {
            var start = 0
            while start < events.count {
                let chunk = Array(events[start..<min(events.count, start + max(1, batchSize))])
                var request = HTTPClientRequest(url: client.baseURL() + "/v1/events")
                request.method = .POST
                request.headers.add(name: "Content-Type", value: "application/cloudevents-batch+json")
                request.headers.add(name: "Authorization", value: "Bearer \(token)")
                request.body = .bytes(ByteBuffer(string: JSONValue.array(chunk).canonicalText))
                let (status, body) = try await client.execute(request)
                guard status == .ok, let results = (try? JSONParser().parse(body))?["results"]?.arrayValue else {
                    print("batch of \(chunk.count) starting at #\(start + 1) failed: HTTP \(status.code) \(body)")
                    failures += chunk.count
                    start += chunk.count
                    continue
                }
                for result in results {
                    let index = Int(result["index"].flatMap { if case .number(let n) = $0 { n } else { nil } } ?? "") ?? 0
                    failures += Self.line(result, position: start + index, event: chunk.indices.contains(index) ? chunk[index] : nil)
                }
                start += chunk.count
            }
        }
        print("\(events.count - failures) of \(events.count) accepted")
        if failures > 0 { throw ExitCode(1) }
    }

    static func events(in bytes: [UInt8], name: String) throws -> [JSONValue] {
        let parser = JSONParser()
        if let whole = try? parser.parse(bytes) {
            if case .array(let items) = whole { return items }
            return [whole]
        }
        var events: [JSONValue] = []
        for (number, line) in bytes.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false).enumerated() {
            if line.allSatisfy({ $0 == 0x20 || $0 == 0x09 || $0 == 0x0D }) { continue }
            do {
                events.append(try parser.parse(line))
            } catch {
                throw ValidationError("\(name):\(number + 1): \(error.description)")
            }
        }
        return events
    }

    static func describe(_ event: JSONValue?) -> String {
        guard let event else { return "" }
        return "\(event["source"]?.stringValue ?? "?") \(event["id"]?.stringValue ?? "?")"
    }

    static func report(status: HTTPResponseStatus, body: String, index: Int, event: JSONValue) -> Int {
        let json = try? JSONParser().parse(body)
        switch status.code {
        case 201: print("#1 created seq=\(json?["seq"].map { $0.canonicalText } ?? "?") \(describe(event))"); return 0
        case 200: print("#1 duplicate seq=\(json?["seq"].map { $0.canonicalText } ?? "?") \(describe(event))"); return 0
        default:
            print("#1 \(status.code == 409 ? "conflict" : "rejected") \(describe(event)): \(problemText(json) ?? body)")
            return 1
        }
    }

    static func line(_ result: JSONValue, position: Int, event: JSONValue?) -> Int {
        let status = result["status"]?.stringValue ?? "?"
        switch status {
        case "created", "duplicate":
            print("#\(position + 1) \(status) seq=\(result["seq"]?.canonicalText ?? "?") \(describe(event))")
            return 0
        default:
            print("#\(position + 1) \(status) \(describe(event)): \(problemText(result["problem"]) ?? "")")
            return 1
        }
    }

    static func problemText(_ problem: JSONValue?) -> String? {
        guard let problem else { return nil }
        var text = problem["detail"]?.stringValue ?? problem["title"]?.stringValue ?? ""
        for error in problem["errors"]?.arrayValue ?? [] {
            text += "\n    \(error["pointer"]?.stringValue ?? ""): \(error["detail"]?.stringValue ?? "")"
        }
        return text
    }
}

struct Tail: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Print events as they are appended to the log (JSON lines).",
        discussion: """
            Starts with the newest --last events that match (or after --after), then keeps polling. \
            Each line is {"seq", "received_at", "event"}.
            """
    )

    @Option(help: "Only events of this type.")
    var type: String?
    @Option(help: "Only events naming this business key (order, product, lot or equipment).")
    var key: String?
    @Option(help: "Start after this log position instead of with the newest events.")
    var after: Int64?
    @Option(help: "How many of the newest matching events to print first.")
    var last: Int = 10
    @Flag(help: "Exit once caught up instead of following.")
    var noFollow = false
    @Option(help: "Seconds between polls while following.")
    var interval: Double = 1
    @OptionGroup var client: ClientOptions

    func run() async throws {
        let token = try client.bearer()
        var filters: [(String, String)] = []
        if let type { filters.append(("type", type)) }
        if let key { filters.append(("key", key)) }
        var cursor: Int64? = after
        if cursor == nil {
            let page = try await fetch(filters + [("last", String(max(1, min(1000, last))))], token: token)
            for item in page.items { Self.emit(item) }
            cursor = page.next ?? 0
        }
        while true {
            let page = try await fetch(filters + [("after", String(cursor ?? 0)), ("limit", "1000")], token: token)
            for item in page.items { Self.emit(item) }
            if let seq = page.items.last?["seq"].flatMap({ if case .number(let n) = $0 { Int64(n) } else { nil } }) {
                cursor = seq
            }
            if page.next != nil { continue }  // more pages waiting
            if noFollow { return }
            try await Task.sleep(for: .seconds(interval))
        }
    }

    /// One line per event, written at once: tail's output is often a pipe, where buffered lines would wait.
    static func emit(_ item: JSONValue) {
        FileHandle.standardOutput.write(Data((item.canonicalText + "\n").utf8))
    }

    func fetch(_ parameters: [(String, String)], token: String) async throws -> (items: [JSONValue], next: Int64?) {
        var components = URLComponents()
        components.queryItems = parameters.map { URLQueryItem(name: $0.0, value: $0.1) }
        let query = (components.percentEncodedQuery ?? "").replacingOccurrences(of: "/", with: "%2F")
        var request = HTTPClientRequest(url: client.baseURL() + "/v1/events?" + query)
        request.headers.add(name: "Authorization", value: "Bearer \(token)")
        let (status, body) = try await client.execute(request)
        guard status == .ok, let json = try? JSONParser().parse(body) else {
            throw CLIError("GET /v1/events answered HTTP \(status.code): \(body)")
        }
        let next: Int64? = json["next_after"].flatMap { if case .number(let n) = $0 { Int64(n) } else { nil } }
        return (json["items"]?.arrayValue ?? [], next)
    }
}
