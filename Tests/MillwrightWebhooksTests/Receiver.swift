import Foundation
import Hummingbird
import Logging
import MillwrightCore
import NIOCore
import Synchronization

/// A real HTTP receiver on loopback: records every request and answers what the test says
/// (`503` while down, `200` by default, a failure for chosen event ids).
final class Receiver: Sendable {
    struct Request: Sendable {
        var headers: [String: String]
        var body: String
        /// The CloudEvent's `id`.
        var eventID: String
    }

    struct State {
        var requests: [Request] = []
        var status = 200
        var failing: Set<String> = []
        var retryAfter: String?
    }

    let state = Mutex(State())
    private let port = Atomic<Int>(0)
    private let task = Mutex<Task<Void, any Error>?>(nil)

    var requests: [Request] { state.withLock { $0.requests } }
    var url: String { "http://127.0.0.1:\(port.load(ordering: .relaxed))/hooks" }

    /// Every request is answered with `status` (the receiver is down while it is 503).
    func answer(_ status: Int, retryAfter: String? = nil) {
        state.withLock {
            $0.status = status
            $0.retryAfter = retryAfter
        }
    }

    /// Requests carrying these event ids answer 500 whatever `status` is.
    func fail(_ ids: Set<String>) { state.withLock { $0.failing = ids } }

    func handle(_ request: Request) -> (Int, String?) {
        state.withLock { s in
            s.requests.append(request)
            return (s.failing.contains(request.eventID) ? 500 : s.status, s.retryAfter)
        }
    }

    static func start() async throws -> Receiver {
        let receiver = Receiver()
        let (ports, continuation) = AsyncStream.makeStream(of: Int.self)
        let router = Router()
        router.post("hooks") { request, _ -> Response in
            let buffer = try await request.body.collect(upTo: 1 << 20)
            let body = String(buffer: buffer)
            var headers: [String: String] = [:]
            for field in request.headers { headers[field.name.canonicalName] = field.value }
            let id = ((try? JSONParser().parse(Array(body.utf8)))?["id"]?.stringValue) ?? ""
            let (status, retryAfter) = receiver.handle(Request(headers: headers, body: body, eventID: id))
            var responseHeaders = HTTPFields()
            if let retryAfter { responseHeaders[.retryAfter] = retryAfter }
            return Response(status: .init(code: status), headers: responseHeaders, body: .init(byteBuffer: ByteBuffer(string: "status \(status)")))
        }
        var logger = Logger(label: "receiver")
        logger.logLevel = .critical
        let app = Application(
            router: router, configuration: .init(address: .hostname("127.0.0.1", port: 0)),
            onServerRunning: { channel in continuation.yield(channel.localAddress?.port ?? 0) }, logger: logger)
        receiver.task.withLock { $0 = Task { try await app.runService(gracefulShutdownSignals: []) } }
        var iterator = ports.makeAsyncIterator()
        receiver.port.store(await iterator.next() ?? 0, ordering: .relaxed)
        return receiver
    }

    func stop() { task.withLock { $0?.cancel() } }
}
