import Foundation
import HummingbirdCore
import HummingbirdTLS
import Yams

/// TLS for deployments without a proxy in front: a PEM certificate chain and its private key.
///
/// ```yaml
/// server:
///   tls:
///     cert: /etc/millwright/tls/fullchain.pem
///     key: /etc/millwright/tls/privkey.pem
/// ```
public struct TLSFiles: Sendable, Hashable {
    /// PEM certificate chain: the server's certificate first, then intermediates.
    public var certificate: String
    /// PEM private key (not encrypted).
    public var privateKey: String

    public init(certificate: String, privateKey: String) {
        self.certificate = certificate
        self.privateKey = privateKey
    }
}

extension YAMLReader {
    func tls(_ node: Node) throws(ConfigurationError) -> TLSFiles {
        let m = try mapping(node, keys: ["cert", "key"])
        guard let cert = m["cert"], let key = m["key"] else {
            throw error(node, "TLS needs both cert and key (PEM files)")
        }
        return TLSFiles(certificate: try string(cert), privateKey: try string(key))
    }
}

extension MillwrightConfiguration {
    /// `MILLWRIGHT_TLS_CERT` and `MILLWRIGHT_TLS_KEY`, together.
    mutating func applyTLS(environment: [String: String]) throws(ConfigurationError) {
        let cert = environment["MILLWRIGHT_TLS_CERT"].flatMap { $0.isEmpty ? nil : $0 }
        let key = environment["MILLWRIGHT_TLS_KEY"].flatMap { $0.isEmpty ? nil : $0 }
        switch (cert, key) {
        case (nil, nil): return
        case (let cert?, let key?): tls = TLSFiles(certificate: cert, privateKey: key)
        default:
            throw ConfigurationError(file: "environment", message: "MILLWRIGHT_TLS_CERT and MILLWRIGHT_TLS_KEY must be set together")
        }
    }

    /// The HTTP server: plain HTTP/1.1, or HTTP/1.1 over TLS when ``tls`` is set. Reads and checks the PEM files now,
    /// so a wrong path or a key that does not match stops `serve` with exit code 2 before it listens.
    public func httpServer() throws(ConfigurationError) -> HTTPServerBuilder {
        guard let tls else { return .http1() }
        let chain: [NIOSSLCertificate]
        do {
            chain = try NIOSSLCertificate.fromPEMFile(tls.certificate)
        } catch {
            throw ConfigurationError(file: tls.certificate, message: "cannot read the TLS certificate chain (PEM): \(error)")
        }
        guard !chain.isEmpty else { throw ConfigurationError(file: tls.certificate, message: "no certificate found (expected PEM)") }
        let key: NIOSSLPrivateKey
        do {
            key = try NIOSSLPrivateKey(file: tls.privateKey, format: .pem)
        } catch {
            // The key's content is never printed; only where it is.
            throw ConfigurationError(file: tls.privateKey, message: "cannot read the TLS private key (unencrypted PEM)")
        }
        var configuration = TLSConfiguration.makeServerConfiguration(certificateChain: chain.map { .certificate($0) }, privateKey: .privateKey(key))
        configuration.minimumTLSVersion = .tlsv12
        do {
            // The TLS context is made here, once, so a key that does not belong to the certificate is a
            // configuration error now rather than a failure when the server starts listening.
            _ = try TLSChannel(HTTP1Channel(responder: { _, _, _ in }), tlsConfiguration: configuration)
            return try .tls(.http1(), tlsConfiguration: configuration)
        } catch {
            throw ConfigurationError(file: tls.privateKey, message: "the TLS private key cannot be used with the certificate \(tls.certificate) (a key of another certificate?)")
        }
    }
}
