import Foundation
import MillwrightCore
import MillwrightSQLite
import MillwrightTesting
import Testing

/// A fresh SQLite store in its own temporary directory.
func makeSQLiteStore(durability: Durability = .full) throws -> (SQLiteStore, String) {
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("mw-sqlite-\(UUID().uuidString)").path
    try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    return (try SQLiteStore(path: dir + "/millwright.sqlite", durability: durability), dir)
}

@Suite("SQLiteStore")
struct SQLiteStoreTests {
    @Test("conforms to the Store contract", arguments: StoreConformance.checks)
    func conformance(_ check: StoreConformance.Check) async throws {
        let (store, dir) = try makeSQLiteStore()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try await check.run(on: store)
        try await store.close()
    }

    @Test("events survive closing and reopening the file", arguments: Durability.allCases)
    func reopen(_ durability: Durability) async throws {
        let (store, dir) = try makeSQLiteStore(durability: durability)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        _ = try await store.append([EventFixtures.count(id: "a"), EventFixtures.count(id: "b")], receivedAt: Date())
        try await store.close()
        let reopened = try SQLiteStore(path: dir + "/millwright.sqlite", durability: durability)
        #expect(try await reopened.events(EventQuery()).map(\.id) == ["a", "b"])
        let again = try await reopened.append([EventFixtures.count(id: "a")], receivedAt: Date())
        guard case .duplicate = again.first else {
            Issue.record("after reopening, a re-sent event is a duplicate, got \(again)")
            return
        }
        try await reopened.close()
    }

    @Test("the database runs in WAL mode with the chosen synchronous level")
    func pragmas() async throws {
        let (store, dir) = try makeSQLiteStore(durability: .full)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        _ = try await store.append([EventFixtures.count(id: "a")], receivedAt: Date())
        #expect(FileManager.default.fileExists(atPath: dir + "/millwright.sqlite-wal"))
        try await store.close()
    }
}
