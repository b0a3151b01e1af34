import Crypto
import Foundation

/// A Standard Webhooks signing secret (standardwebhooks.com): signs outbound messages and is what the
/// inbound verifier checks against. The one place Millwright computes a webhook signature.
///
/// The signed content is `webhook-id + "." + webhook-timestamp + "." + body`, HMAC-SHA256 with the
/// secret's bytes, sent as `v1,<base64>`.
///
/// ```swift
/// let secret = try StandardWebhooksSecret("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")
/// let signature = secret.sign(id: "msg_p5jXN8AQM9LWM0D4loKWxJek", timestamp: 1614265330, body: body)
/// ```
public struct StandardWebhooksSecret: Sendable {
    public struct FormatError: Error, Sendable, CustomStringConvertible {
        public var description: String
    }

    let key: SymmetricKey

    /// - Parameter text: `whsec_<base64>` (the prefix is optional), as the sender shows it.
    public init(_ text: String) throws(FormatError) {
        let encoded = text.hasPrefix("whsec_") ? String(text.dropFirst(6)) : text
        guard let bytes = Data(base64Encoded: encoded), !bytes.isEmpty else {
            throw FormatError(description: "a Standard Webhooks secret is 'whsec_' followed by base64")
        }
        key = SymmetricKey(data: bytes)
    }

    /// The HMAC-SHA256 of `id.timestamp.body`.
    public func mac(id: String, timestamp: String, body: some Sequence<UInt8>) -> [UInt8] {
        var mac = HMAC<SHA256>(key: key)
        mac.update(data: Array("\(id).\(timestamp).".utf8))
        mac.update(data: Array(body))
        return Array(mac.finalize())
    }

    /// The signature header entry for a message: `v1,<base64>`.
    public func sign(id: String, timestamp: Int64, body: some Sequence<UInt8>) -> String {
        "v1," + Data(mac(id: id, timestamp: String(timestamp), body: body)).base64EncodedString()
    }

    /// Compares without leaking, through timing, where two byte strings differ.
    public static func constantTimeEqual(_ a: [UInt8], _ b: [UInt8]) -> Bool {
        guard a.count == b.count else { return false }
        var diff: UInt8 = 0
        for i in 0..<a.count { diff |= a[i] ^ b[i] }
        return diff == 0
    }
}
