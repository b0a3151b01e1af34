import Foundation
import MillwrightCore
import Synchronization

/// Where an operation writes down its plan before it changes Odoo.
///
/// Several manufacturing operations take more than one call, and each JSON-2 call is its own
/// transaction. An operation computes its plan once (which record, which absolute quantities), records
/// it under the event's key, and then applies it with writes that are absolute: re-running after a crash
/// between any two calls reads the same plan and converges on the same state instead of applying an
/// increment twice. The delivery engine keeps the journal in Millwright's store; tests use
/// ``InMemoryOperationJournal``.
public protocol OperationJournal: Sendable {
    func plan(for key: String) async throws -> JSONValue?
    func record(_ plan: JSONValue, for key: String) async throws
}

public final class InMemoryOperationJournal: OperationJournal {
    private let plans = Mutex<[String: JSONValue]>([:])

    public init() {}

    public func plan(for key: String) async throws -> JSONValue? {
        plans.withLock { $0[key] }
    }

    public func record(_ plan: JSONValue, for key: String) async throws {
        plans.withLock { $0[key] = plan }
    }

    public var count: Int { plans.withLock { $0.count } }
}

/// Canonical references resolved to Odoo ids. An entry is dropped when Odoo says the record is gone
/// (an operation that meets `MissingError` on a cached id invalidates and resolves again once).
actor ReferenceCache {
    private var entries: [String: JSONValue] = [:]

    func get(_ key: String) -> JSONValue? { entries[key] }
    func set(_ key: String, _ value: JSONValue) { entries[key] = value }
    func removeAll() { entries.removeAll() }
    var count: Int { entries.count }
}
