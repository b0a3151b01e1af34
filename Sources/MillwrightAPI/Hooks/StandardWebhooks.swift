import Foundation
import MillwrightWebhooks

/// Verifies inbound messages signed per the Standard Webhooks specification (standardwebhooks.com).
///
/// The signed content is `webhook-id + "." + webhook-timestamp + "." + body`, HMAC-SHA256 with the
/// secret's bytes; `webhook-signature` holds one or more space-separated `v1,<base64>` signatures (more
/// than one while the sender rotates its secret). Comparison is constant-time.
///
/// ```swift
/// let verifier = try StandardWebhooksVerifier(secret: "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")
/// try verifier.verify(id: "msg_p5jXN8AQM9LWM0D4loKWxJek", timestamp: "1614265330",
///                     signatures: "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=", body: body, now: now)
/// ```
public struct StandardWebhooksVerifier: Sendable {
    /// Why a message was refused. The descriptions are what the sender is told: nothing that helps forge one.
    public enum Failure: Error, Sendable, Equatable, CustomStringConvertible {
        case missingHeader(String)
        case invalidTimestamp
        case timestampOutsideTolerance
        case signatureMismatch

        public var description: String {
            switch self {
            case .missingHeader(let name): "missing header \(name)"
            case .invalidTimestamp: "webhook-timestamp is not a whole number of seconds since 1970"
            case .timestampOutsideTolerance: "timestamp outside tolerance"
            case .signatureMismatch: "signature mismatch"
            }
        }
    }

    public struct SecretFormatError: Error, Sendable, CustomStringConvertible {
        public var description: String
    }

    let secret: StandardWebhooksSecret
    /// How far the message's timestamp may be from now, either way. Default 5 minutes.
    public let tolerance: TimeInterval

    /// - Parameter secret: `whsec_<base64>` (the prefix is optional), as the sender shows it.
    public init(secret: String, tolerance: TimeInterval = 300) throws(SecretFormatError) {
        do { self.secret = try StandardWebhooksSecret(secret) } catch { throw SecretFormatError(description: error.description) }
        self.tolerance = tolerance
    }

    /// The signature header value for a message: `v1,<base64>`. Used by tests and outbound signing.
    public func sign(id: String, timestamp: Int64, body: some Sequence<UInt8>) -> String {
        secret.sign(id: id, timestamp: timestamp, body: body)
    }

    /// Checks headers and signature; returns the message's timestamp.
    @discardableResult
    public func verify(id: String?, timestamp: String?, signatures: String?, body: [UInt8], now: Date) throws(Failure) -> Date {
        guard let id, !id.isEmpty else { throw .missingHeader("webhook-id") }
        guard let timestamp, !timestamp.isEmpty else { throw .missingHeader("webhook-timestamp") }
        guard let signatures, !signatures.isEmpty else { throw .missingHeader("webhook-signature") }
        guard timestamp.utf8.count <= 12, timestamp.utf8.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }), let seconds = Int64(timestamp) else {
            throw .invalidTimestamp
        }
        let sent = Date(timeIntervalSince1970: TimeInterval(seconds))
        guard abs(now.timeIntervalSince(sent)) <= tolerance else { throw .timestampOutsideTolerance }

        let expected = secret.mac(id: id, timestamp: timestamp, body: body)
        var matched = false
        for candidate in signatures.split(separator: " ") {
            let parts = candidate.split(separator: ",", maxSplits: 1)
            guard parts.count == 2, parts[0] == "v1", let given = Data(base64Encoded: String(parts[1])) else { continue }
            // Constant-time, and every candidate is checked: timing tells nothing about which one matched.
            if Self.constantTimeEqual(Array(given), expected) { matched = true }
        }
        guard matched else { throw .signatureMismatch }
        return sent
    }

    static func constantTimeEqual(_ a: [UInt8], _ b: [UInt8]) -> Bool {
        StandardWebhooksSecret.constantTimeEqual(a, b)
    }
}
