import Foundation
import MillwrightServer
import Testing

/// TLS settings. Serving HTTPS with a real certificate is tested against the binary (Tests/integration/test_tls.py).
@Suite("TLS configuration")
struct TLSConfigurationTests {
    @Test func readFromTheFileAndTheEnvironment() throws {
        var c = MillwrightConfiguration()
        try c.apply(yaml: "server:\n  tls:\n    cert: /etc/mw/cert.pem\n    key: /etc/mw/key.pem\n", file: "m.yaml")
        #expect(c.tls == TLSFiles(certificate: "/etc/mw/cert.pem", privateKey: "/etc/mw/key.pem"))
        try c.apply(environment: ["MILLWRIGHT_TLS_CERT": "/run/c.pem", "MILLWRIGHT_TLS_KEY": "/run/k.pem"])
        #expect(c.tls == TLSFiles(certificate: "/run/c.pem", privateKey: "/run/k.pem"))
        #expect(throws: ConfigurationError.self) { try c.apply(environment: ["MILLWRIGHT_TLS_CERT": "/run/c.pem"]) }
    }

    @Test func certAndKeyGoTogether() {
        var c = MillwrightConfiguration()
        do {
            try c.apply(yaml: "server:\n  tls:\n    cert: /etc/mw/cert.pem\n", file: "m.yaml")
            Issue.record("accepted a certificate without a key")
        } catch {
            #expect(error.description == "m.yaml:3:5: TLS needs both cert and key (PEM files)")
        }
    }

    @Test func unreadableFilesAreConfigurationErrors() throws {
        var c = MillwrightConfiguration()
        #expect(throws: Never.self) { try c.httpServer() }  // no TLS: plain HTTP
        c.tls = TLSFiles(certificate: "/nonexistent/cert.pem", privateKey: "/nonexistent/key.pem")
        do {
            _ = try c.httpServer()
            Issue.record("accepted a missing certificate")
        } catch {
            #expect(error.file == "/nonexistent/cert.pem" && error.message.hasPrefix("cannot read the TLS certificate chain"))
        }
    }
}
