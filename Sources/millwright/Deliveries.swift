import ArgumentParser
import AsyncHTTPClient
import Foundation
import MillwrightCore
import NIOHTTP1

struct Deliveries: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "List deliveries and dead letters of a running node, and replay dead letters.",
        subcommands: [List.self, Replay.self]
    )

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List deliveries: one line each (id, state, flow, event, attempts, last error or result).")
        @Option(help: "pending, in_flight, retrying, done, dead (comma-separated).") var state: String?
        @Option(help: "Only this flow.") var flow: String?
        @Option(help: "Only deliveries of events with this business key (e.g. WH/MO/00042).") var key: String?
        @Flag(help: "Only dead letters.") var dead = false
        @Option(help: "At most this many.") var limit = 100
        @OptionGroup var client: ClientOptions

        func run() async throws {
            var query: [String] = ["limit=\(limit)"]
            if let state, !dead { query.append("state=" + state) }
            if let flow { query.append("flow=" + Self.escape(flow)) }
            if let key { query.append("key=" + Self.escape(key)) }
            var request = HTTPClientRequest(url: client.baseURL() + (dead ? "/v1/dead-letters?" : "/v1/deliveries?") + query.joined(separator: "&"))
            request.headers.add(name: "Authorization", value: "Bearer \(try client.bearer())")
            let (status, body) = try await client.execute(request)
            guard status == .ok, let json = try? JSONParser().parse(body), let items = json["items"]?.arrayValue else {
                throw CLIError("HTTP \(status.code): \(body)")
            }
            for item in items {
                let text = item["last_error"]?.stringValue.map { "\(item["last_error_code"]?.stringValue ?? "") \($0)" } ?? item["result"]?.stringValue ?? ""
                print("#\(Self.number(item["id"]))\t\(item["state"]?.stringValue ?? "?")\t\(item["flow"]?.stringValue ?? "?")\tevent \(Self.number(item["event_seq"]))\tattempts \(Self.number(item["attempts"]))\t\(text)")
            }
            if items.isEmpty { print("no deliveries match") }
        }

        static func number(_ value: JSONValue?) -> String {
            if case .number(let n)? = value { return n }
            return "?"
        }

        static func escape(_ text: String) -> String {
            text.addingPercentEncoding(withAllowedCharacters: .urlQueryAllowed.subtracting(CharacterSet(charactersIn: "&=+"))) ?? text
        }
    }

    struct Replay: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Send dead letters back to pending (each replay is audited).")
        @Argument(help: "Delivery ids.") var ids: [Int64]
        @OptionGroup var client: ClientOptions

        func run() async throws {
            var failed = false
            for id in ids {
                var request = HTTPClientRequest(url: client.baseURL() + "/v1/dead-letters/\(id)/replay")
                request.method = .POST
                request.headers.add(name: "Authorization", value: "Bearer \(try client.bearer())")
                let (status, body) = try await client.execute(request)
                if status == .ok {
                    print("#\(id) replayed: pending")
                } else {
                    failed = true
                    let detail = (try? JSONParser().parse(body))?["detail"]?.stringValue ?? body
                    print("#\(id) not replayed (HTTP \(status.code)): \(detail)")
                }
            }
            if failed { throw ExitCode(1) }
        }
    }
}

struct Trace: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Everything that happened to one business key: its events, their deliveries and every attempt, in order."
    )
    @Argument(help: "A business key: order (WH/MO/00042), product, lot or equipment.") var key: String
    @OptionGroup var client: ClientOptions

    func run() async throws {
        var request = HTTPClientRequest(url: client.baseURL() + "/v1/messages?key=" + Deliveries.List.escape(key))
        request.headers.add(name: "Authorization", value: "Bearer \(try client.bearer())")
        let (status, body) = try await client.execute(request)
        guard status == .ok, let json = try? JSONParser().parse(body), let items = json["items"]?.arrayValue else {
            throw CLIError("HTTP \(status.code): \(body)")
        }
        if items.isEmpty { print("nothing recorded for \(key)") }
        for item in items {
            let event = item["event"] ?? .null
            print("\(item["received_at"]?.stringValue ?? "")  event #\(Deliveries.List.number(item["seq"])) \(event["type"]?.stringValue ?? "") from \(event["source"]?.stringValue ?? "") id \(event["id"]?.stringValue ?? "")")
            for delivery in item["deliveries"]?.arrayValue ?? [] {
                print("    delivery #\(Deliveries.List.number(delivery["id"])) \(delivery["flow"]?.stringValue ?? ""): \(delivery["state"]?.stringValue ?? "")")
                for attempt in delivery["attempts"]?.arrayValue ?? [] {
                    let detail = attempt["error"]?.stringValue.map { "\(attempt["error_code"]?.stringValue ?? "") \($0)" } ?? attempt["result"]?.stringValue ?? ""
                    print("        \(attempt["started_at"]?.stringValue ?? "")  attempt \(Deliveries.List.number(attempt["number"])) \(attempt["outcome"]?.stringValue ?? "") (\(Deliveries.List.number(attempt["duration_ms"])) ms)  \(detail)")
                }
            }
        }
    }
}
