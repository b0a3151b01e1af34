import Foundation
import MillwrightCore
import NIOCore
import NIOHTTP1
import NIOPosix
import Synchronization

/// One webhook POST an automation rule made, as Odoo 19 makes it (`ir.actions.server._run_action_webhook`).
public struct OdooWebhookCall: Sendable, Hashable {
    public var url: String
    /// `json.dumps(vals, sort_keys=True)`: `{"_action": "<action name>(#<id>)", "_id": 235, "_model": "mrp.production"}`
    /// plus `id` and the selected fields when the action names any.
    public var body: String
    public var model: String
    public var recordID: Int
    /// The answer's status, `nil` when nothing answered within Odoo's 1 second, or when dropped.
    public var status: Int?
    /// Not sent: ``OdooSimulator/dropWebhooks(_:)`` was on (a webhook lost on the way).
    public var dropped = false
}

extension OdooDatabase {
    /// The webhooks this call's changes fire: for every active `on_create_or_write` rule of a model, each
    /// record created, or each record whose trigger fields changed (any field when the rule names none).
    /// Observed on Odoo 19: a write of a field that is not a trigger field fires nothing; a state change
    /// computed by Odoo (`to_close` after `qty_producing`) fires like a written one.
    func webhooks(since before: OdooDatabase) -> [OdooWebhookCall] {
        var calls: [OdooWebhookCall] = []
        for rule in ids("base.automation") where bool("base.automation", rule, "active") && string("base.automation", rule, "trigger") == "on_create_or_write" {
            guard let modelID = int("base.automation", rule, "model_id"), let model = string("ir.model", modelID, "model") else { continue }
            let triggers = idList("base.automation", rule, "trigger_field_ids").compactMap { string("ir.model.fields", $0, "name") }
            let actions = inverseIDs("ir.actions.server", "base_automation_id", rule, owner: "base.automation")
                .filter { string("ir.actions.server", $0, "state") == "webhook" }
            guard !actions.isEmpty else { continue }
            for id in self.ids(model) {
                guard let now = record(model, id) else { continue }
                let fired: Bool
                if let old = before.record(model, id) {
                    // Trigger fields as read (a computed `state` such as `to_close` counts, as on Odoo).
                    fired = triggers.isEmpty
                        ? old != now
                        : (try? before.readRecord(model, id, fields: triggers, context: OdooContext(nil))) != (try? readRecord(model, id, fields: triggers, context: OdooContext(nil)))
                } else {
                    fired = true
                }
                guard fired else { continue }
                for action in actions {
                    guard let url = string("ir.actions.server", action, "webhook_url"), !url.isEmpty else { continue }
                    var vals: [String: JSONValue] = [
                        "_model": .string(model), "_id": .number(String(id)),
                        "_action": .string("\(string("ir.actions.server", action, "name") ?? "")(#\(action))"),
                    ]
                    let fields = idList("ir.actions.server", action, "webhook_field_ids").compactMap { string("ir.model.fields", $0, "name") }
                    if !fields.isEmpty, let read = (try? readRecord(model, id, fields: fields, context: OdooContext(nil)))?.objectValue {
                        for (key, value) in read { vals[key] = value }
                    }
                    calls.append(OdooWebhookCall(url: url, body: Self.pythonJSONDumps(vals), model: model, recordID: id))
                }
            }
        }
        return calls
    }

    /// `json.dumps(vals, sort_keys=True)`: sorted keys, `", "` and `": "` between them.
    static func pythonJSONDumps(_ object: [String: JSONValue]) -> String {
        "{" + object.keys.sorted().map { key in "\(JSONValue.string(key).canonicalText): \(object[key]?.canonicalText ?? "null")" }.joined(separator: ", ") + "}"
    }
}

/// Sends webhook POSTs the way Odoo does after a commit: `requests.post(url, data, headers={'Content-Type':
/// 'application/json'}, timeout=1)`, one at a time, no retry, the answer only logged.
struct OdooWebhookSender: Sendable {
    let group: any EventLoopGroup

    func send(_ call: OdooWebhookCall) async -> Int? {
        guard let url = URL(string: call.url), let host = url.host, url.scheme == "http" else { return nil }
        let port = url.port ?? 80
        var target = url.path.isEmpty ? "/" : url.path
        if let query = url.query { target += "?" + query }
        do {
            return try await post(host: host, port: port, target: target, body: call.body)
        } catch {
            return nil
        }
    }

    private func post(host: String, port: Int, target: String, body: String) async throws -> Int? {
        let loop = group.next()
        let status = OncePromise(loop.makePromise(of: Int?.self))
        let channel: any Channel
        do {
            channel = try await ClientBootstrap(group: loop)
                .connectTimeout(.seconds(1))
                .channelInitializer { channel in
                    channel.eventLoop.makeCompletedFuture {
                        try channel.pipeline.syncOperations.addHTTPClientHandlers()
                        try channel.pipeline.syncOperations.addHandler(StatusCollector(status))
                    }
                }
                .connect(host: host, port: port).get()
        } catch {
            status.complete(nil)
            throw error
        }
        defer { channel.close(promise: nil) }
        // Odoo's timeout=1: after a second the answer no longer matters.
        let timeout = loop.scheduleTask(in: .seconds(1)) { status.complete(nil) }
        defer { timeout.cancel() }
        var headers = HTTPHeaders()
        headers.add(name: "Host", value: "\(host):\(port)")
        headers.add(name: "User-Agent", value: "python-requests/2.28.1")
        headers.add(name: "Accept-Encoding", value: "gzip, deflate")
        headers.add(name: "Accept", value: "*/*")
        headers.add(name: "Connection", value: "keep-alive")
        headers.add(name: "Content-Type", value: "application/json")
        headers.add(name: "Content-Length", value: String(body.utf8.count))
        var buffer = channel.allocator.buffer(capacity: body.utf8.count)
        buffer.writeString(body)
        channel.write(HTTPClientRequestPart.head(HTTPRequestHead(version: .http1_1, method: .POST, uri: target, headers: headers)), promise: nil)
        channel.write(HTTPClientRequestPart.body(.byteBuffer(buffer)), promise: nil)
        try await channel.writeAndFlush(HTTPClientRequestPart.end(nil)).get()
        return try await status.promise.futureResult.get()
    }
}

/// A promise completed at most once, from wherever comes first.
private final class OncePromise: Sendable {
    let promise: EventLoopPromise<Int?>
    private let done = Mutex(false)

    init(_ promise: EventLoopPromise<Int?>) { self.promise = promise }

    func complete(_ value: Int?) {
        let first = done.withLock { done in
            defer { done = true }
            return !done
        }
        if first { promise.succeed(value) }
    }
}

/// Completes with the answer's status once its head arrives, or with nil when the connection closes first.
private final class StatusCollector: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPClientResponsePart
    private let once: OncePromise

    init(_ once: OncePromise) { self.once = once }

    private func finish(_ value: Int?) { once.complete(value) }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        if case .head(let head) = unwrapInboundIn(data) { finish(Int(head.status.code)) }
    }

    func channelInactive(context: ChannelHandlerContext) {
        finish(nil)
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        finish(nil)
        context.close(promise: nil)
    }
}
