import ArgumentParser
import Foundation
import MillwrightTesting
import UnixSignals

/// Runs the Odoo simulator as a process, for integration tests and demos that need an Odoo over HTTP:
/// prints one JSON line with its URL, database and API keys, then serves until SIGTERM or SIGINT.
@main
struct OdooSimulatorTool: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "millwright-odoo-sim",
        abstract: "Run the Odoo 19 simulator (JSON-2 and JSON-RPC) on 127.0.0.1 until SIGTERM.",
        discussion: "What it covers and where it differs from Odoo: docs/odoo-simulator.md."
    )

    @Option(help: "Port (0: any free port; the chosen one is printed).") var port = 0

    func run() async throws {
        var configuration = OdooSimulatorConfiguration()
        configuration.port = port
        let simulator = try await OdooSimulator.start(configuration)
        let line = """
            {"url":"http://127.0.0.1:\(simulator.port)","database":"\(simulator.database)","login":"admin","api_key":"\(simulator.adminAPIKey)","mes_bridge_api_key":"\(simulator.mesBridgeAPIKey)"}
            """
        FileHandle.standardOutput.write(Data((line + "\n").utf8))
        for await _ in await UnixSignalsSequence(trapping: .sigterm, .sigint) { break }
        try await simulator.shutdown()
    }
}
