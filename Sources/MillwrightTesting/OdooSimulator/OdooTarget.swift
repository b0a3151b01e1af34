import Foundation

/// The Odoo a tool talks to (`millwright demo`, `millwright-bench flows`): a real one named by the
/// environment, or a simulator started in this process.
public struct OdooTarget: Sendable {
    public let url: String
    public let database: String
    public let login: String
    public let apiKey: String
    /// Set when the target is a simulator this process started (and must shut down).
    public let simulator: OdooSimulator?

    /// `MILLWRIGHT_ODOO_URL`, `_DB`, `_LOGIN`, `_API_KEY`, when all four are set.
    public static func environment(_ environment: [String: String]) -> OdooTarget? {
        guard let url = environment["MILLWRIGHT_ODOO_URL"], let database = environment["MILLWRIGHT_ODOO_DB"],
            let login = environment["MILLWRIGHT_ODOO_LOGIN"], let apiKey = environment["MILLWRIGHT_ODOO_API_KEY"]
        else { return nil }
        return OdooTarget(url: url, database: database, login: login, apiKey: apiKey, simulator: nil)
    }

    /// A simulator on a free loopback port, seeded like Odoo's demo data.
    public static func simulator() async throws -> OdooTarget {
        let sim = try await OdooSimulator.start()
        return OdooTarget(url: "http://127.0.0.1:\(sim.port)", database: sim.database, login: "admin", apiKey: sim.adminAPIKey, simulator: sim)
    }

    public func shutdown() async {
        try? await simulator?.shutdown()
    }
}
