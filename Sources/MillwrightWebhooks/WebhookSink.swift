import AsyncHTTPClient
import Crypto
import Foundation
import Logging
import MillwrightCore
import NIOCore
import NIOHTTP1

/// Where the webhook sink finds a subscription's endpoint, and whom it tells how each call went (the
/// subscription manager: it disables an endpoint that keeps failing).
public protocol WebhookEndpoints: Sendable {
    /// The subscription with this id, or `nil` when it was deleted.
    func subscription(_ id: String) async -> Subscription?
    /// One call's outcome: `failure` is `nil` on success, else what went wrong (`HTTP 503`, `connection refused`).
    func record(_ id: String, failure: String?, at: Date) async
}

/// The outbound webhook sink (`sink: webhook`, operation = a subscription id): POSTs the event as a
/// CloudEvents structured-mode JSON body, signed per Standard Webhooks.
///
/// Headers: `webhook-id` (stable per message: the same on every retry and replay, so receivers dedupe),
/// `webhook-timestamp` (seconds since 1970, of this attempt), `webhook-signature` (`v1,<base64>`; two
/// entries for 24 hours after a secret rotation), `content-type: application/cloudevents+json`, and the
/// subscription's own headers. Any 2xx is success; every other answer, a timeout or a connection error
/// is a transient failure retried on the subscription's schedule (`Retry-After` is honoured, up to a
/// day), as Svix does: receivers often answer 4xx while misconfigured and recover once fixed.
///
/// ```swift
/// let sink = WebhookSink(endpoints: manager, now: { Date() }, logger: logger)
/// let worker = DeliveryWorker(store: store, flows: [], sinks: [sink], owner: "node/webhooks", source: dynamic, …)
/// ```
public struct WebhookSink: Sink {
    public let name = "webhook"
    /// Operations are subscription ids, which change at run time: flows name them, the manager knows them.
    public var operations: Set<String> { [] }
    public var isolatesOperations: Bool { true }

    let endpoints: any WebhookEndpoints
    let client: HTTPClient
    let timeout: TimeAmount
    let now: @Sendable () -> Date
    let logger: Logger

    /// Error codes of the webhook sink.
    public enum Code {
        /// The subscription no longer exists (permanent).
        public static let unknownSubscription = "MW-WEBHOOK-0001"
        /// The receiver answered something other than 2xx.
        public static let status = "MW-WEBHOOK-0002"
        /// No answer: connection refused, reset, TLS failure or timeout.
        public static let unreachable = "MW-WEBHOOK-0003"
        /// The subscription's URL or secret cannot be used (permanent until changed).
        public static let misconfigured = "MW-WEBHOOK-0004"
        /// The subscription is disabled: a flows/*.yaml flow that names it waits (retried in an hour).
        public static let disabled = "MW-WEBHOOK-0005"
    }

    /// The longest `Retry-After` honoured.
    public static let maxRetryAfter: TimeInterval = 86_400

    /// - Parameters:
    ///   - client: AsyncHTTPClient's shared client unless given (it follows up to 20 redirects).
    ///   - timeout: per request, connection included. Default 15 s.
    public init(
        endpoints: any WebhookEndpoints, client: HTTPClient = .shared, timeout: TimeInterval = 15, now: @escaping @Sendable () -> Date = { Date() },
        logger: Logger
    ) {
        self.endpoints = endpoints
        self.client = client
        self.timeout = .milliseconds(Int64(max(0.001, timeout) * 1_000))
        self.now = now
        self.logger = logger
    }

    /// The `webhook-id` of a message: the same for every attempt and replay of one event (or one piece of a
    /// split event), different for every other. `msg_` and 32 hex digits of SHA-256(source, id).
    public static func messageID(_ event: StoredEvent) -> String {
        "msg_" + JSONValue.hex(SHA256.hash(data: Array((event.source + "\n" + event.id).utf8)).prefix(16))
    }

    public func deliver(_ event: StoredEvent, operation: String) async -> SinkOutcome {
        guard let subscription = await endpoints.subscription(operation) else {
            return .permanent(code: Code.unknownSubscription, message: "subscription \(operation) does not exist (deleted?)")
        }
        guard subscription.state == .enabled else {
            // The subscription's own flow is held while disabled; this is a flows/*.yaml flow naming it (or a race).
            return .transient(code: Code.disabled, message: "subscription \(operation) is disabled: \(subscription.stateReason ?? "no reason given")", retryAfter: 3_600)
        }
        let at = now()
        let id = Self.messageID(event)
        let timestamp = Int64(at.timeIntervalSince1970.rounded(.down))
        let body = Array(event.envelope.utf8)
        var signatures: [String] = []
        do {
            signatures.append(try StandardWebhooksSecret(subscription.secret).sign(id: id, timestamp: timestamp, body: body))
            if let previous = subscription.previousSecret, let until = subscription.previousSecretUntil, until > at {
                signatures.append(try StandardWebhooksSecret(previous).sign(id: id, timestamp: timestamp, body: body))
            }
        } catch {
            return .permanent(code: Code.misconfigured, message: "subscription \(subscription.id): \(error.description)")
        }
        var request = HTTPClientRequest(url: subscription.url)
        request.method = .POST
        for (name, value) in subscription.headers.sorted(by: { $0.key < $1.key }) { request.headers.add(name: name, value: value) }
        request.headers.replaceOrAdd(name: "content-type", value: "application/cloudevents+json")
        request.headers.replaceOrAdd(name: "user-agent", value: "Millwright-Webhooks/1")
        request.headers.replaceOrAdd(name: "webhook-id", value: id)
        request.headers.replaceOrAdd(name: "webhook-timestamp", value: String(timestamp))
        request.headers.replaceOrAdd(name: "webhook-signature", value: signatures.joined(separator: " "))
        request.body = .bytes(ByteBuffer(bytes: body))

        var metadata: Logger.Metadata = ["mw.subscription": "\(subscription.id)", "mw.webhook.id": "\(id)", "mw.event.seq": "\(event.seq)"]
        let started = ContinuousClock.now
        let outcome: SinkOutcome
        let failure: String?
        do {
            let response = try await client.execute(request, timeout: timeout)
            let text = try await Self.excerpt(response.body)
            let ms = Self.milliseconds(since: started)
            let status = Int(response.status.code)
            metadata["mw.webhook.status"] = "\(status)"
            if (200..<300).contains(status) {
                outcome = .applied("HTTP \(status) in \(ms) ms")
                failure = nil
            } else {
                let retryAfter = response.headers.first(name: "retry-after").flatMap { Self.retryAfter($0, now: at) }
                let reason = "HTTP \(status)" + (text.isEmpty ? "" : ": " + text)
                outcome = .transient(code: Code.status, message: reason + " (in \(ms) ms)", retryAfter: retryAfter)
                failure = reason
            }
        } catch {
            let reason = Self.describe(error)
            outcome = .transient(code: Code.unreachable, message: reason + " (after \(Self.milliseconds(since: started)) ms)", retryAfter: nil)
            failure = reason
        }
        await endpoints.record(subscription.id, failure: failure, at: now())
        if let failure {
            metadata["mw.error"] = "\(failure)"
            logger.debug("webhook call failed", metadata: metadata)
        }
        return outcome
    }

    /// The first 200 characters of a response body, on one line (the rest is not read).
    static func excerpt(_ body: HTTPClientResponse.Body) async throws -> String {
        var kept: [UInt8] = []
        // Enough to say what went wrong; a receiver that streams without end does not hold the worker.
        for try await chunk in body {
            kept += chunk.readableBytesView.prefix(512 - kept.count)
            if kept.count >= 512 { break }
        }
        let text = String(decoding: kept, as: UTF8.self).split(whereSeparator: \.isNewline).joined(separator: " ")
        return text.count > 200 ? String(text.prefix(200)) + "…" : text
    }

    /// `Retry-After`: seconds, or an HTTP date; capped at ``maxRetryAfter``.
    static func retryAfter(_ value: String, now: Date) -> TimeInterval? {
        let trimmed = value.trimmingCharacters(in: .whitespaces)
        if let seconds = Int(trimmed), seconds >= 0 { return min(TimeInterval(seconds), maxRetryAfter) }
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "GMT")
        formatter.dateFormat = "EEE, dd MMM yyyy HH:mm:ss zzz"
        guard let date = formatter.date(from: trimmed) else { return nil }
        return min(max(0, date.timeIntervalSince(now)), maxRetryAfter)
    }

    static func milliseconds(since start: ContinuousClock.Instant) -> Int64 {
        let elapsed = ContinuousClock.now - start
        return elapsed.components.seconds * 1_000 + elapsed.components.attoseconds / 1_000_000_000_000_000
    }

    static func describe(_ error: any Error) -> String {
        if let error = error as? HTTPClientError {
            if error == .deadlineExceeded || error == .readTimeout || error == .connectTimeout { return "timed out" }
            return "no answer: \(error)"
        }
        return "no answer: \(error)"
    }
}
