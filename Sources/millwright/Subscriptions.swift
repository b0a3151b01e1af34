import ArgumentParser
import AsyncHTTPClient
import Foundation
import MillwrightCore
import NIOCore
import NIOHTTP1

struct Subscriptions: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Outbound webhook subscriptions of a running node: list, create, re-enable, replay.",
        subcommands: [List.self, Create.self, Enable.self, Replay.self]
    )

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "One line each: id, state, url, types (and why it is disabled).")
        @OptionGroup var client: ClientOptions

        func run() async throws {
            let json = try await Subscriptions.call(client, .GET, "/v1/subscriptions", body: nil, expect: .ok)
            let items = json["items"]?.arrayValue ?? []
            for s in items {
                let types = s["types"]?.arrayValue?.compactMap(\.stringValue).joined(separator: ",") ?? ""
                let reason = s["state_reason"]?.stringValue.map { "\t(\($0))" } ?? ""
                print("\(s["id"]?.stringValue ?? "?")\t\(s["state"]?.stringValue ?? "?")\t\(s["url"]?.stringValue ?? "?")\t\(types)\(reason)")
            }
            if items.isEmpty { print("no subscriptions") }
        }
    }

    struct Create: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Create a subscription; prints its id and its signing secret (shown once).")
        @Option(help: "The receiver's http(s) URL (--url is the node's).") var endpoint: String
        @Option(name: .customLong("type"), help: "An event type or pattern (mfg.production.*); repeat for more.") var types: [String]
        @Option(help: "What it is for.") var description: String?
        @Flag(help: "Deliver messages with one partition key one at a time, in order.") var ordered = false
        @Option(help: "Disable the endpoint after failing this many seconds without a success (default 5 days).") var disableAfter: Int?
        @Option(help: "At most this many messages a second to the endpoint (default: no limit).") var rateLimit: Double?
        @OptionGroup var client: ClientOptions

        func run() async throws {
            var body: [String: JSONValue] = [
                "url": .string(endpoint), "types": .array(types.map(JSONValue.string)), "ordered": .bool(ordered),
            ]
            if let description { body["description"] = .string(description) }
            if let disableAfter { body["disable_after_seconds"] = .number(String(disableAfter)) }
            if let rateLimit { body["rate_limit"] = .number(String(format: "%g", rateLimit)) }
            let s = try await Subscriptions.call(client, .POST, "/v1/subscriptions", body: .object(body), expect: .created)
            print("""
                created \(s["id"]?.stringValue ?? "?") (flow \(s["flow"]?.stringValue ?? "?"))
                signing secret, shown once; give it to the receiver:

                    \(s["secret"]?.stringValue ?? "?")
                """)
        }
    }

    struct Enable: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Re-enable a disabled endpoint: its held messages go at once (audited).")
        @Argument(help: "The subscription id.") var id: String
        @OptionGroup var client: ClientOptions

        func run() async throws {
            let s = try await Subscriptions.call(client, .POST, "/v1/subscriptions/\(Subscriptions.escape(id))/enable", body: nil, expect: .ok)
            print("\(s["id"]?.stringValue ?? id) is \(s["state"]?.stringValue ?? "?")")
        }
    }

    struct Replay: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Send past events to this one endpoint again (audited).")
        @Argument(help: "The subscription id.") var id: String
        @Option(help: "One event, by its position in the log.") var seq: Int64?
        @Option(name: .customLong("event-id"), help: "One event, by its CloudEvents id.") var eventID: String?
        @Option(help: "With --event-id: the event's source.") var source: String?
        @Option(help: "Every event from this time (RFC 3339) …") var since: String?
        @Option(help: "… until this time (RFC 3339, exclusive).") var until: String?
        @OptionGroup var client: ClientOptions

        func validate() throws {
            guard [seq != nil, eventID != nil, since != nil].filter({ $0 }).count == 1 else {
                throw ValidationError("name the events with exactly one of --seq, --event-id, --since")
            }
        }

        func run() async throws {
            var body: [String: JSONValue] = [:]
            if let seq { body["event_seq"] = .number(String(seq)) }
            if let eventID { body["event_id"] = .string(eventID) }
            if let source { body["source"] = .string(source) }
            if let since { body["since"] = .string(since) }
            if let until { body["until"] = .string(until) }
            let r = try await Subscriptions.call(client, .POST, "/v1/subscriptions/\(Subscriptions.escape(id))/replay", body: .object(body), expect: .ok)
            print("matched \(Deliveries.List.number(r["matched"])) events, \(Deliveries.List.number(r["replayed"])) due again")
        }
    }

    static func escape(_ text: String) -> String {
        text.addingPercentEncoding(withAllowedCharacters: .urlPathAllowed.subtracting(CharacterSet(charactersIn: "/"))) ?? text
    }

    static func call(_ client: ClientOptions, _ method: HTTPMethod, _ path: String, body: JSONValue?, expect: HTTPResponseStatus) async throws -> JSONValue {
        var request = HTTPClientRequest(url: client.baseURL() + path)
        request.method = method
        request.headers.add(name: "Authorization", value: "Bearer \(try client.bearer())")
        if let body {
            request.headers.add(name: "Content-Type", value: "application/json")
            request.body = .bytes(ByteBuffer(string: body.canonicalText))
        }
        let (status, text) = try await client.execute(request)
        guard status == expect, let json = try? JSONParser().parse(text) else { throw CLIError("HTTP \(status.code): \(text)") }
        return json
    }
}
