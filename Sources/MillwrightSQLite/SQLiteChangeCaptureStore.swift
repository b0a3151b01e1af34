import Foundation
import GRDB
import MillwrightCore

extension SQLiteStore {
    static func registerChangeCaptureMigration(_ migrator: inout DatabaseMigrator) {
        migrator.registerMigration("v5-change-capture") { db in
            try db.execute(sql: """
                CREATE TABLE capture_watermarks (
                    model TEXT PRIMARY KEY,
                    write_date TEXT NOT NULL
                ) WITHOUT ROWID;
                CREATE TABLE captured_records (
                    model TEXT NOT NULL,
                    record_id INTEGER NOT NULL,
                    write_date TEXT NOT NULL,
                    state TEXT,
                    released INTEGER NOT NULL DEFAULT 0,
                    digest TEXT,
                    PRIMARY KEY (model, record_id)
                ) WITHOUT ROWID;
                """)
        }
    }
}

extension SQLiteStore: ChangeCaptureStore {
    public func captureWatermark(model: String) async throws -> String? {
        try await pool.read { db in try String.fetchOne(db, sql: "SELECT write_date FROM capture_watermarks WHERE model = ?", arguments: [model]) }
    }

    public func setCaptureWatermark(model: String, writeDate: String) async throws {
        try await pool.write { db in
            try db.execute(
                sql: "INSERT INTO capture_watermarks (model, write_date) VALUES (?, ?) ON CONFLICT (model) DO UPDATE SET write_date = excluded.write_date",
                arguments: [model, writeDate])
        }
    }

    public func capturedRecord(model: String, recordID: Int) async throws -> CapturedRecord? {
        try await pool.read { db in
            guard let row = try Row.fetchOne(db, sql: "SELECT * FROM captured_records WHERE model = ? AND record_id = ?", arguments: [model, recordID]) else {
                return nil
            }
            return CapturedRecord(
                model: row["model"], recordID: row["record_id"], writeDate: row["write_date"], state: row["state"],
                released: (row["released"] as Int64?) == 1, digest: row["digest"])
        }
    }

    public func recordCaptured(_ r: CapturedRecord) async throws {
        try await pool.write { db in
            try db.execute(
                sql: """
                    INSERT INTO captured_records (model, record_id, write_date, state, released, digest) VALUES (?, ?, ?, ?, ?, ?)
                    ON CONFLICT (model, record_id) DO UPDATE SET write_date = excluded.write_date, state = excluded.state,
                        released = excluded.released, digest = excluded.digest
                    """,
                arguments: [r.model, r.recordID, r.writeDate, r.state, r.released ? 1 : 0, r.digest])
        }
    }
}
