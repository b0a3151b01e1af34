import Foundation
import MillwrightAPI
import MillwrightCore
import MillwrightSQLite

/// Opens a node's store directly, for CLI commands that work whether or not a server runs on it
/// (SQLite in WAL mode lets both write; the server sees token changes within its cache time of one second).
public enum LocalAdministration {
    /// The governance of the node whose data is in `dataDirectory`.
    /// - Throws: ``ConfigurationError`` when the directory holds no Millwright store.
    public static func open(dataDirectory: String) throws -> (Governance, any Store) {
        var configuration = MillwrightConfiguration()
        configuration.dataDirectory = dataDirectory
        guard FileManager.default.fileExists(atPath: configuration.databasePath) else {
            throw ConfigurationError(file: dataDirectory, message: "no Millwright store here (\(configuration.databasePath) does not exist); pass --data with the directory 'millwright serve' uses")
        }
        let store = try SQLiteStore(path: configuration.databasePath, durability: .full)
        return (Governance(store: store), store)
    }

    /// The audit actor for a local command: the operating-system user and host.
    public static var localActor: Governance.Actor {
        let env = ProcessInfo.processInfo.environment
        let user = env["SUDO_USER"] ?? env["USER"] ?? "unknown"
        return Governance.Actor(name: "cli:\(user)@\(ProcessInfo.processInfo.hostName)", origin: "local")
    }
}
