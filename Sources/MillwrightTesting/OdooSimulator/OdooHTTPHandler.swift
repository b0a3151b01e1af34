import NIOCore
import NIOHTTP1

/// Collects one HTTP request, hands it to the simulator core and writes (or withholds) the answer.
final class OdooHTTPHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    private let core: OdooSimulatorCore
    private var head: HTTPRequestHead?
    private var body: [UInt8] = []

    init(core: OdooSimulatorCore) {
        self.core = core
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
            switch core.handle(request) {
            case .drop:
                context.close(promise: nil)
            case .respond(let response, nil):
                write(response, keepAlive: requestHead.isKeepAlive, version: requestHead.version, context: context)
            case .respond(let response, let delay?):
                let bound = NIOLoopBound((handler: self, context: context), eventLoop: context.eventLoop)
                let keepAlive = requestHead.isKeepAlive
                let version = requestHead.version
                context.eventLoop.scheduleTask(in: .nanoseconds(Int64(Self.nanoseconds(delay)))) {
                    bound.value.handler.write(response, keepAlive: keepAlive, version: version, context: bound.value.context)
                }
            }
        }
    }

    private func write(_ response: OdooHTTPResponse, keepAlive: Bool, version: HTTPVersion, context: ChannelHandlerContext) {
        var headers = HTTPHeaders()
        headers.add(name: "Content-Type", value: response.contentType)
        headers.add(name: "Content-Length", value: String(response.body.utf8.count))
        headers.add(name: "Server", value: "Werkzeug/3.0.1 Python/3.12.3")
        for (name, value) in response.headers { headers.add(name: name, value: value) }
        if !keepAlive { headers.add(name: "Connection", value: "close") }
        let status = HTTPResponseStatus(statusCode: response.status)
        context.write(wrapOutboundOut(.head(HTTPResponseHead(version: version, status: status, headers: headers))), promise: nil)
        var buffer = context.channel.allocator.buffer(capacity: response.body.utf8.count)
        buffer.writeString(response.body)
        context.write(wrapOutboundOut(.body(.byteBuffer(buffer))), promise: nil)
        let done = context.writeAndFlush(wrapOutboundOut(.end(nil)))
        if !keepAlive {
            let channel = context.channel
            done.whenComplete { _ in channel.close(promise: nil) }
        }
    }

    static func nanoseconds(_ duration: Duration) -> Int64 {
        let (seconds, attoseconds) = duration.components
        return seconds * 1_000_000_000 + attoseconds / 1_000_000_000
    }
}
