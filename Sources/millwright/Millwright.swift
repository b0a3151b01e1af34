import ArgumentParser
import Foundation
import Logging
import MillwrightCore
import MillwrightServer

@main
struct Millwright: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "millwright",
        abstract: "Millwright: the integration layer between Odoo and the plant.",
        subcommands: [Serve.self, Events.self, Tokens.self, Audit.self, Odoo.self, Flows.self, Deliveries.self, Subscriptions.self, Trace.self, Demo.self]
    )
}

struct Serve: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run a Millwright node (embedded SQLite store, HTTP API).",
        discussion: """
            Defaults: data in ./data, HTTP on 127.0.0.1:8080. Settings come from, later ones winning: \
            defaults, the YAML file given with --config, MILLWRIGHT_* environment variables, these flags.
            """
    )

    @Option(help: "Data directory (SQLite log, admin token). Env: MILLWRIGHT_DATA.")
    var data: String?
    @Option(help: "Address to listen on. Env: MILLWRIGHT_HOST.")
    var host: String?
    @Option(help: "Port to listen on. Env: MILLWRIGHT_PORT.")
    var port: Int?
    @Option(help: "YAML configuration file (see docs/configuration.md).")
    var config: String?
    @Option(help: "Serve HTTPS with this PEM certificate chain (needs --tls-key). Env: MILLWRIGHT_TLS_CERT.")
    var tlsCert: String?
    @Option(help: "The PEM private key of --tls-cert. Env: MILLWRIGHT_TLS_KEY.")
    var tlsKey: String?

    func run() async throws {
        let environment = ProcessInfo.processInfo.environment
        var configuration = MillwrightConfiguration()
        do throws(ConfigurationError) {
            if let config {
                guard let text = try? String(contentsOfFile: config, encoding: .utf8) else {
                    throw ConfigurationError(file: config, message: "cannot read the file")
                }
                try configuration.apply(yaml: text, file: config)
            }
            try configuration.apply(environment: environment)
        } catch {
            FileHandle.standardError.write(Data("error: \(error)\n".utf8))
            throw ExitCode(2)
        }
        if let data { configuration.dataDirectory = data }
        if let host { configuration.host = host }
        if let port {
            guard (1...65535).contains(port) else { throw ValidationError("--port must be from 1 to 65535") }
            configuration.port = port
        }
        switch (tlsCert, tlsKey) {
        case (nil, nil): break
        case (let cert?, let key?): configuration.tls = TLSFiles(certificate: cert, privateKey: key)
        default: throw ValidationError("--tls-cert and --tls-key go together")
        }
        let level = configuration.logLevel
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = level
            return handler
        }
        let logger = Logger(label: "millwright")
        logger.info("starting", metadata: [
            "mw.data": "\(configuration.dataDirectory)", "mw.durability": "\(configuration.durability.rawValue)",
            "mw.address": "\(configuration.tls == nil ? "http" : "https")://\(configuration.host):\(configuration.port)",
        ])
        do {
            try await MillwrightNode(configuration: configuration, environment: environment, logger: logger).run()
        } catch let error as ConfigurationError {
            FileHandle.standardError.write(Data("error: \(error)\n".utf8))
            throw ExitCode(2)
        }
    }
}
