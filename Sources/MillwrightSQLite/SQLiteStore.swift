import Foundation
import GRDB
import MillwrightCore

/// The embedded store: one SQLite file in WAL mode, through GRDB.
///
/// One `DatabasePool` per file (one writer, concurrent readers). Every SQL detail stays here.
///
/// ```swift
/// let store = try SQLiteStore(path: "data/millwright.sqlite", durability: .full)
/// let outcomes = try await store.append(events, receivedAt: .now)
/// ```
public final class SQLiteStore: Store {
    public let path: String
    public let durability: Durability
    let pool: DatabasePool

    /// Opens (creating if needed) the database at `path` and runs pending migrations.
    public init(path: String, durability: Durability = .full) throws {
        self.path = path
        self.durability = durability
        var config = Configuration()
        config.busyMode = .timeout(10)
        config.label = "millwright"
        let synchronous = durability == .full ? "FULL" : "NORMAL"
        config.prepareDatabase { db in
            try db.execute(sql: "PRAGMA synchronous = \(synchronous)")
        }
        pool = try DatabasePool(path: path, configuration: config)
        try Self.migrator.migrate(pool)
    }

    static var migrator: DatabaseMigrator {
        var migrator = DatabaseMigrator()
        // Shipped migrations are never edited: add a new one instead.
        migrator.registerMigration("v1-event-log") { db in
            try db.execute(sql: """
                CREATE TABLE events (
                    seq INTEGER PRIMARY KEY AUTOINCREMENT,
                    source TEXT NOT NULL,
                    id TEXT NOT NULL,
                    type TEXT NOT NULL,
                    subject TEXT,
                    partition_key TEXT,
                    occurred_us INTEGER NOT NULL,
                    received_us INTEGER NOT NULL,
                    envelope TEXT NOT NULL,
                    UNIQUE (source, id)
                );
                CREATE INDEX events_type ON events(type, seq);
                CREATE INDEX events_subject ON events(subject, seq);
                CREATE INDEX events_occurred ON events(occurred_us, seq);
                CREATE TABLE event_keys (
                    kind TEXT NOT NULL,
                    value TEXT NOT NULL,
                    seq INTEGER NOT NULL REFERENCES events(seq),
                    PRIMARY KEY (kind, value, seq)
                ) WITHOUT ROWID;
                CREATE INDEX event_keys_value ON event_keys(value, seq);
                CREATE TABLE event_conflicts (
                    conflict_id INTEGER PRIMARY KEY AUTOINCREMENT,
                    source TEXT NOT NULL,
                    id TEXT NOT NULL,
                    existing_seq INTEGER NOT NULL REFERENCES events(seq),
                    received_us INTEGER NOT NULL,
                    envelope TEXT NOT NULL
                );
                CREATE INDEX event_conflicts_key ON event_conflicts(source, id);
                CREATE TABLE tokens (
                    id TEXT PRIMARY KEY,
                    name TEXT NOT NULL,
                    prefix TEXT NOT NULL,
                    hash TEXT NOT NULL UNIQUE,
                    scopes TEXT NOT NULL,
                    created_us INTEGER NOT NULL,
                    expires_us INTEGER,
                    revoked_us INTEGER
                );
                """)
        }
        migrator.registerMigration("v2-governance") { db in
            try db.execute(sql: """
                CREATE TABLE service_accounts (
                    name TEXT PRIMARY KEY,
                    description TEXT NOT NULL,
                    created_us INTEGER NOT NULL
                );
                CREATE INDEX tokens_name ON tokens(name, created_us);
                CREATE TABLE audit (
                    seq INTEGER PRIMARY KEY AUTOINCREMENT,
                    at_us INTEGER NOT NULL,
                    actor TEXT NOT NULL,
                    action TEXT NOT NULL,
                    target TEXT NOT NULL,
                    origin TEXT NOT NULL,
                    before TEXT,
                    after TEXT,
                    previous_hash TEXT NOT NULL,
                    hash TEXT NOT NULL
                );
                """)
        }
        migrator.registerMigration("v3-hook-receipts") { db in
            try db.execute(sql: """
                CREATE TABLE hook_receipts (
                    source TEXT NOT NULL,
                    id TEXT NOT NULL,
                    until_us INTEGER NOT NULL,
                    PRIMARY KEY (source, id)
                ) WITHOUT ROWID;
                CREATE INDEX hook_receipts_until ON hook_receipts(until_us);
                """)
        }
        migrator.registerMigration("v4-approvals") { db in
            try db.execute(sql: """
                CREATE TABLE approvals (
                    id TEXT PRIMARY KEY,
                    action TEXT NOT NULL,
                    target TEXT NOT NULL,
                    request TEXT NOT NULL,
                    requested_by TEXT NOT NULL,
                    requester_account TEXT NOT NULL,
                    origin TEXT NOT NULL,
                    requested_us INTEGER NOT NULL,
                    expires_us INTEGER NOT NULL,
                    status TEXT NOT NULL,
                    decided_by TEXT,
                    decided_us INTEGER,
                    outcome TEXT
                );
                CREATE INDEX approvals_status ON approvals(status, requested_us);
                """)
        }
        registerDeliveryMigration(&migrator)
        registerSubscriptionMigration(&migrator)
        registerChangeCaptureMigration(&migrator)
        migrator.registerMigration("v6-events-partition-index") { db in
            // The sequence-gap check looks events up by partition key.
            try db.execute(sql: "CREATE INDEX events_partition ON events(partition_key, seq)")
        }
        return migrator
    }

    public func append(_ events: [NewEvent], receivedAt: Date) async throws -> [AppendOutcome] {
        if events.isEmpty { return [] }
        let receivedUs = Self.micros(receivedAt)
        return try await pool.write { db in
            var outcomes: [AppendOutcome] = []
            outcomes.reserveCapacity(events.count)
            let find = try db.cachedStatement(sql: "SELECT seq, received_us, type, envelope FROM events WHERE source = ? AND id = ?")
            let insert = try db.cachedStatement(sql: """
                INSERT INTO events (source, id, type, subject, partition_key, occurred_us, received_us, envelope)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?)
                """)
            let insertKey = try db.cachedStatement(sql: "INSERT OR IGNORE INTO event_keys (kind, value, seq) VALUES (?, ?, ?)")
            let insertConflict = try db.cachedStatement(sql: "INSERT INTO event_conflicts (source, id, existing_seq, received_us, envelope) VALUES (?, ?, ?, ?, ?)")
            for new in events {
                let e = new.event
                if let row = try Row.fetchOne(find, arguments: [e.source, e.id]) {
                    let existing = StoredEvent(
                        seq: row[0], receivedAt: Self.date(row[1]), source: e.source, id: e.id, type: row[2], envelope: row[3]
                    )
                    if existing.envelope == new.canonicalText {
                        outcomes.append(.duplicate(existing))
                    } else {
                        try insertConflict.execute(arguments: [e.source, e.id, existing.seq, receivedUs, new.canonicalText])
                        outcomes.append(.conflict(existing: existing, conflictID: db.lastInsertedRowID))
                    }
                    continue
                }
                let occurredUs = new.occurredAt.map(Self.micros) ?? receivedUs
                try insert.execute(arguments: [
                    e.source, e.id, e.type, e.subject, e.partitionKey, occurredUs, receivedUs, new.canonicalText,
                ])
                let seq = db.lastInsertedRowID
                for key in new.keys {
                    try insertKey.execute(arguments: [key.kind.rawValue, key.value, seq])
                }
                outcomes.append(.created(StoredEvent(
                    seq: seq, receivedAt: Self.date(receivedUs), source: e.source, id: e.id, type: e.type, envelope: new.canonicalText
                )))
            }
            return outcomes
        }
    }

    public func events(_ query: EventQuery) async throws -> [StoredEvent] {
        var clauses: [String] = []
        var arguments: [DatabaseValue] = []
        func add(_ clause: String, _ values: any DatabaseValueConvertible...) {
            clauses.append(clause)
            arguments.append(contentsOf: values.map(\.databaseValue))
        }
        if let v = query.type { add("type = ?", v) }
        if let v = query.source { add("source = ?", v) }
        if let v = query.id { add("id = ?", v) }
        if let v = query.subject { add("subject = ?", v) }
        for key in query.keys {
            add("seq IN (SELECT seq FROM event_keys WHERE kind = ? AND value = ?)", key.kind.rawValue, key.value)
        }
        if let v = query.anyKey { add("seq IN (SELECT seq FROM event_keys WHERE value = ?)", v) }
        if let v = query.since { add("occurred_us >= ?", Self.micros(v)) }
        if let v = query.until { add("occurred_us < ?", Self.micros(v)) }
        if let v = query.after { add("seq > ?", v) }
        let whereClause = clauses.isEmpty ? "" : "WHERE " + clauses.joined(separator: " AND ")
        let direction = query.newestFirst ? "DESC" : "ASC"
        let sql = "SELECT seq, received_us, source, id, type, envelope FROM events \(whereClause) ORDER BY seq \(direction) LIMIT ?"
        arguments.append(max(0, query.limit).databaseValue)
        let statementArguments = StatementArguments(arguments)
        let found = try await pool.read { db in
            try Row.fetchAll(db, sql: sql, arguments: statementArguments).map { row in
                StoredEvent(seq: row[0], receivedAt: Self.date(row[1]), source: row[2], id: row[3], type: row[4], envelope: row[5])
            }
        }
        return query.newestFirst ? found.reversed() : found
    }

    public func conflicts(source: String, id: String) async throws -> [ConflictRecord] {
        try await pool.read { db in
            try Row.fetchAll(
                db,
                sql: "SELECT conflict_id, existing_seq, received_us, envelope FROM event_conflicts WHERE source = ? AND id = ? ORDER BY conflict_id",
                arguments: [source, id]
            ).map { row in
                ConflictRecord(conflictID: row[0], source: source, id: id, existingSeq: row[1], receivedAt: Self.date(row[2]), envelope: row[3])
            }
        }
    }

    public func insertToken(_ token: TokenRecord) async throws {
        try await pool.write { db in
            try db.execute(
                sql: """
                    INSERT INTO tokens (id, name, prefix, hash, scopes, created_us, expires_us, revoked_us)
                    VALUES (?, ?, ?, ?, ?, ?, ?, ?)
                    """,
                arguments: [
                    token.id, token.name, token.prefix, token.hash, token.scopes.joined(separator: " "),
                    Self.micros(token.createdAt), token.expiresAt.map(Self.micros), token.revokedAt.map(Self.micros),
                ]
            )
        }
    }

    public func token(hash: String) async throws -> TokenRecord? {
        try await pool.read { db in
            try Row.fetchOne(
                db,
                sql: "SELECT id, name, prefix, hash, scopes, created_us, expires_us, revoked_us FROM tokens WHERE hash = ?",
                arguments: [hash]
            ).map(Self.tokenRecord)
        }
    }

    static func tokenRecord(_ row: Row) -> TokenRecord {
        let scopes: String = row[4]
        let expires: Int64? = row[6]
        let revoked: Int64? = row[7]
        return TokenRecord(
            id: row[0], name: row[1], prefix: row[2], hash: row[3],
            scopes: scopes.split(separator: " ").map(String.init),
            createdAt: Self.date(row[5]), expiresAt: expires.map(Self.date), revokedAt: revoked.map(Self.date)
        )
    }

    public func tokenCount() async throws -> Int {
        try await pool.read { db in try Int.fetchOne(db, sql: "SELECT count(*) FROM tokens") ?? 0 }
    }

    public func tokens(account: String?) async throws -> [TokenRecord] {
        try await pool.read { db in
            let sql = "SELECT id, name, prefix, hash, scopes, created_us, expires_us, revoked_us FROM tokens"
                + (account == nil ? "" : " WHERE name = ?") + " ORDER BY created_us DESC, id"
            let arguments: StatementArguments = account.map { [$0] } ?? []
            return try Row.fetchAll(db, sql: sql, arguments: arguments).map(Self.tokenRecord)
        }
    }

    public func updateToken(id: String, expiresAt: Date?, revokedAt: Date?) async throws {
        try await pool.write { db in
            try db.execute(
                sql: "UPDATE tokens SET expires_us = ?, revoked_us = ? WHERE id = ?",
                arguments: [expiresAt.map(Self.micros), revokedAt.map(Self.micros), id]
            )
        }
    }

    public func createServiceAccount(_ account: ServiceAccount) async throws -> Bool {
        try await pool.write { db in
            try db.execute(
                sql: "INSERT OR IGNORE INTO service_accounts (name, description, created_us) VALUES (?, ?, ?)",
                arguments: [account.name, account.description, Self.micros(account.createdAt)]
            )
            return db.changesCount == 1
        }
    }

    public func serviceAccounts() async throws -> [ServiceAccount] {
        try await pool.read { db in
            try Row.fetchAll(db, sql: "SELECT name, description, created_us FROM service_accounts ORDER BY name").map { row in
                ServiceAccount(name: row[0], description: row[1], createdAt: Self.date(row[2]))
            }
        }
    }

    public func appendAudit(_ draft: AuditDraft, hasher: AuditHasher) async throws -> AuditEntry {
        try await pool.write { db in
            let last = try Row.fetchOne(db, sql: "SELECT seq, hash FROM audit ORDER BY seq DESC LIMIT 1")
            let seq: Int64 = (last.map { $0[0] } ?? 0) + 1
            let previous: String = last.map { $0[1] } ?? AuditEntry.genesisHash
            // Stored at microsecond precision; hash what is stored.
            var draft = draft
            draft.at = Self.date(Self.micros(draft.at))
            let hash = hasher(AuditEntry.chainedText(seq: seq, draft: draft, previousHash: previous))
            try db.execute(
                sql: """
                    INSERT INTO audit (seq, at_us, actor, action, target, origin, before, after, previous_hash, hash)
                    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                    """,
                arguments: [
                    seq, Self.micros(draft.at), draft.actor, draft.action, draft.target, draft.origin,
                    draft.before?.canonicalText, draft.after?.canonicalText, previous, hash,
                ]
            )
            return AuditEntry(seq: seq, draft: draft, previousHash: previous, hash: hash)
        }
    }

    public func auditEntries(after: Int64?, limit: Int) async throws -> [AuditEntry] {
        try await pool.read { db in
            try Row.fetchAll(
                db,
                sql: "SELECT seq, at_us, actor, action, target, origin, before, after, previous_hash, hash FROM audit WHERE seq > ? ORDER BY seq LIMIT ?",
                arguments: [after ?? 0, max(0, limit)]
            ).map { row in
                let before: String? = row[6]
                let after: String? = row[7]
                let draft = AuditDraft(
                    at: Self.date(row[1]), actor: row[2], action: row[3], target: row[4], origin: row[5],
                    before: before.flatMap { try? JSONParser().parse($0) }, after: after.flatMap { try? JSONParser().parse($0) }
                )
                return AuditEntry(seq: row[0], draft: draft, previousHash: row[8], hash: row[9])
            }
        }
    }

    public func recordHookReceipt(source: String, id: String, now: Date, until: Date) async throws -> Bool {
        let nowUs = Self.micros(now)
        let untilUs = Self.micros(until)
        return try await pool.write { db in
            try db.execute(sql: "DELETE FROM hook_receipts WHERE until_us <= ?", arguments: [nowUs])
            try db.execute(
                sql: "INSERT OR IGNORE INTO hook_receipts (source, id, until_us) VALUES (?, ?, ?)",
                arguments: [source, id, untilUs]
            )
            return db.changesCount == 1
        }
    }

    public func forgetHookReceipt(source: String, id: String) async throws {
        try await pool.write { db in
            try db.execute(sql: "DELETE FROM hook_receipts WHERE source = ? AND id = ?", arguments: [source, id])
        }
    }

    public func insertApproval(_ a: ApprovalRecord) async throws {
        try await pool.write { db in
            try db.execute(
                sql: """
                    INSERT INTO approvals (id, action, target, request, requested_by, requester_account, origin, requested_us, expires_us,
                                           status, decided_by, decided_us, outcome)
                    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                    """,
                arguments: [
                    a.id, a.action, a.target, a.request.canonicalText, a.requestedBy, a.requesterAccount, a.origin,
                    Self.micros(a.requestedAt), Self.micros(a.expiresAt), a.status.rawValue, a.decidedBy,
                    a.decidedAt.map(Self.micros), a.outcome?.canonicalText,
                ]
            )
        }
    }

    static let approvalColumns = "id, action, target, request, requested_by, requester_account, origin, requested_us, expires_us, status, decided_by, decided_us, outcome"

    static func approvalRecord(_ row: Row) -> ApprovalRecord {
        let request: String = row[3]
        let status: String = row[9]
        let decided: Int64? = row[11]
        let outcome: String? = row[12]
        return ApprovalRecord(
            id: row[0], action: row[1], target: row[2], request: (try? JSONParser().parse(request)) ?? .null,
            requestedBy: row[4], requesterAccount: row[5], origin: row[6], requestedAt: Self.date(row[7]), expiresAt: Self.date(row[8]),
            status: ApprovalRecord.Status(rawValue: status) ?? .failed, decidedBy: row[10], decidedAt: decided.map(Self.date),
            outcome: outcome.flatMap { try? JSONParser().parse($0) }
        )
    }

    public func approval(id: String) async throws -> ApprovalRecord? {
        try await pool.read { db in
            try Row.fetchOne(db, sql: "SELECT \(Self.approvalColumns) FROM approvals WHERE id = ?", arguments: [id]).map(Self.approvalRecord)
        }
    }

    public func approvals(status: ApprovalRecord.Status?, limit: Int) async throws -> [ApprovalRecord] {
        try await pool.read { db in
            let sql = "SELECT \(Self.approvalColumns) FROM approvals" + (status == nil ? "" : " WHERE status = ?")
                + " ORDER BY requested_us DESC, id LIMIT ?"
            var arguments: StatementArguments = status.map { [$0.rawValue] } ?? []
            arguments += [max(0, limit)]
            return try Row.fetchAll(db, sql: sql, arguments: arguments).map(Self.approvalRecord)
        }
    }

    public func decideApproval(id: String, status: ApprovalRecord.Status, by: String, at: Date, outcome: JSONValue?) async throws -> Bool {
        try await pool.write { db in
            try db.execute(
                sql: "UPDATE approvals SET status = ?, decided_by = ?, decided_us = ?, outcome = ? WHERE id = ? AND status = 'pending'",
                arguments: [status.rawValue, by, Self.micros(at), outcome?.canonicalText, id]
            )
            return db.changesCount == 1
        }
    }

    public func recordApprovalOutcome(id: String, status: ApprovalRecord.Status, outcome: JSONValue?) async throws {
        try await pool.write { db in
            try db.execute(sql: "UPDATE approvals SET status = ?, outcome = ? WHERE id = ?", arguments: [status.rawValue, outcome?.canonicalText, id])
        }
    }

    public func statistics() async throws -> StoreStatistics {
        let path = self.path
        let (events, lastSeq, conflicts, pages) = try await pool.read { db in
            (
                try Int64.fetchOne(db, sql: "SELECT count(*) FROM events") ?? 0,
                try Int64.fetchOne(db, sql: "SELECT coalesce(max(seq), 0) FROM events") ?? 0,
                try Int64.fetchOne(db, sql: "SELECT count(*) FROM event_conflicts") ?? 0,
                try Int64.fetchOne(db, sql: "SELECT page_count * page_size FROM pragma_page_count(), pragma_page_size()") ?? 0
            )
        }
        let walSize = ((try? FileManager.default.attributesOfItem(atPath: path + "-wal"))?[.size] as? NSNumber)?.int64Value ?? 0
        return StoreStatistics(events: events, lastSeq: lastSeq, conflicts: conflicts, sizeBytes: pages + walSize)
    }

    public func close() async throws {
        try pool.close()
    }

    static func micros(_ date: Date) -> Int64 { date.microsecondsSince1970 }

    static func date(_ micros: Int64) -> Date {
        Date(timeIntervalSince1970: Double(micros) / 1_000_000)
    }
}
