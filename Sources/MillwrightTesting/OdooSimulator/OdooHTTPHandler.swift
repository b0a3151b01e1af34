import NIOCore
import NIOHTTP1
import Synchronization

/// Collects one HTTP request, hands it to the simulator core and writes (or withholds) the answer.
final class OdooHTTPHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    private let core: OdooSimulatorCore
    private let sender: OdooWebhookSender
    private var head: HTTPRequestHead?
    private var body: [UInt8] = []

    init(core: OdooSimulatorCore, sender: OdooWebhookSender) {
        self.core = core
        self.sender = sender
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let requestHead):
            head = requestHead
            body = []
        case .body(var buffer):
            if let bytes = buffer.readBytes(length: buffer.readableBytes) { body.append(contentsOf: bytes) }
        case .end:
            guard let requestHead = head else { return }
            head = nil
            let request = OdooHTTPRequest(method: requestHead.method.rawValue, path: requestHead.uri,
                                          headers: requestHead.headers.map { ($0.name, $0.value) }, body: body)
            body = []
            let outcome = core.handle(request)
            let pending = core.state.withLock { !$0.outbox.isEmpty }
            guard pending else { return answer(outcome, context: context) }
            // Odoo sends a call's webhooks after its commit, before its answer: the caller's answer waits.
            let bound = NIOLoopBound((handler: self, context: context), eventLoop: context.eventLoop)
            let core = self.core, sender = self.sender, loop = context.eventLoop
            Task {
                _ = await core.flushWebhooks(sender)
                loop.execute { bound.value.handler.answer(outcome, context: bound.value.context) }
            }
        }
    }

    private func answer(_ outcome: OdooHTTPOutcome, context: ChannelHandlerContext) {
        switch outcome {
        case .drop:
            context.close(promise: nil)
        case .respond(let response, nil):
            write(response, context: context)
        case .respond(let response, let delay?):
            let bound = NIOLoopBound((handler: self, context: context), eventLoop: context.eventLoop)
            context.eventLoop.scheduleTask(in: .nanoseconds(Int64(Self.nanoseconds(delay)))) {
                bound.value.handler.write(response, context: bound.value.context)
            }
        }
    }

    /// Writes the answer as Odoo's Werkzeug server does: HTTP/1.0, `Connection: close`, one request per connection.
    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        // Unparsable HTTP: drop the connection, as a server would.
        context.close(promise: nil)
    }

    private func write(_ response: OdooHTTPResponse, context: ChannelHandlerContext) {
        var headers = HTTPHeaders()
        headers.add(name: "Server", value: "Werkzeug/2.2.2 Python/3.11.2")
        headers.add(name: "Content-Type", value: response.contentType)
        headers.add(name: "Content-Length", value: String(response.body.utf8.count))
        for (name, value) in response.headers { headers.add(name: name, value: value) }
        headers.add(name: "X-Content-Type-Options", value: "nosniff")
        headers.add(name: "Connection", value: "close")
        let status = HTTPResponseStatus(statusCode: response.status)
        context.write(wrapOutboundOut(.head(HTTPResponseHead(version: .http1_0, status: status, headers: headers))), promise: nil)
        var buffer = context.channel.allocator.buffer(capacity: response.body.utf8.count)
        buffer.writeString(response.body)
        context.write(wrapOutboundOut(.body(.byteBuffer(buffer))), promise: nil)
        let channel = context.channel
        context.writeAndFlush(wrapOutboundOut(.end(nil))).whenComplete { _ in channel.close(promise: nil) }
    }

    static func nanoseconds(_ duration: Duration) -> Int64 {
        let (seconds, attoseconds) = duration.components
        return seconds * 1_000_000_000 + attoseconds / 1_000_000_000
    }
}
