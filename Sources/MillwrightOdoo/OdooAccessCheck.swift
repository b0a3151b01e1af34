import Foundation
import MillwrightCore

/// The access rights the operations need, checked with `ir.model.access/check` as the connected user.
public struct OdooAccessCheck: Sendable {
    public struct Requirement: Sendable {
        public var model: String
        public var modes: [String]
        public var usedBy: String
    }

    public static let requirements: [Requirement] = [
        .init(model: "product.product", modes: ["read", "write", "create"], usedBy: "product upsert"),
        .init(model: "ir.model.data", modes: ["read", "create"], usedBy: "product upsert (external ids)"),
        .init(model: "uom.uom", modes: ["read"], usedBy: "unit conversion"),
        .init(model: "stock.lot", modes: ["read", "create"], usedBy: "lots and serials"),
        .init(model: "mrp.production", modes: ["read", "write"], usedBy: "confirm, completion, consumption"),
        .init(model: "stock.move", modes: ["read", "write"], usedBy: "consumption, transfers"),
        .init(model: "stock.move.line", modes: ["read", "write"], usedBy: "component and moved lots"),
        .init(model: "stock.location", modes: ["read"], usedBy: "locations"),
        .init(model: "stock.quant", modes: ["read", "write", "create"], usedBy: "inventory count, on hand"),
        .init(model: "stock.scrap", modes: ["read", "write", "create"], usedBy: "scrap"),
        .init(model: "stock.picking", modes: ["read", "write", "create"], usedBy: "internal moves, quality hold"),
        .init(model: "stock.picking.type", modes: ["read"], usedBy: "internal moves"),
        .init(model: "maintenance.equipment", modes: ["read"], usedBy: "maintenance requests"),
        .init(model: "maintenance.request", modes: ["read", "create"], usedBy: "maintenance requests"),
        .init(model: "mail.activity", modes: ["read", "write", "create"], usedBy: "quality hold activity"),
        .init(model: "ir.model", modes: ["read"], usedBy: "quality hold activity"),
    ]

    public var rows: [(requirement: Requirement, granted: [String: Bool])]
    public var gaps: [String]

    /// Checks every requirement; a model that is not installed counts as a gap with its own fix.
    public static func run(_ client: OdooClient) async throws(OdooError) -> OdooAccessCheck {
        var rows: [(Requirement, [String: Bool])] = []
        var gaps: [String] = []
        for requirement in requirements {
            var granted: [String: Bool] = [:]
            for mode in requirement.modes {
                do {
                    let answer = try await client.call("ir.model.access", "check", ["model": .string(requirement.model), "mode": .string(mode), "raise_exception": false])
                    granted[mode] = answer.boolValue ?? false
                } catch where error.kind == .unknownMethod || error.kind == .badRequest || error.kind == .validation {
                    granted[mode] = false
                    gaps.append("\(requirement.model) is not available (\(error.message)): install the module that provides it")
                    break
                }
            }
            let missing = requirement.modes.filter { granted[$0] == false }
            if !missing.isEmpty {
                let groups = (try? await groupsGranting(client, model: requirement.model, modes: missing)) ?? []
                let fix = groups.isEmpty ? "ask an Odoo administrator to grant it" : "add user '\(client.settings.login)' to one of: " + groups.joined(separator: ", ")
                gaps.append("\(requirement.model): no \(missing.joined(separator: "/")) access (needed for \(requirement.usedBy)); \(fix)")
            }
            rows.append((requirement, granted))
        }
        return OdooAccessCheck(rows: rows, gaps: gaps)
    }

    static func groupsGranting(_ client: OdooClient, model: String, modes: [String]) async throws(OdooError) -> [String] {
        var domain: [JSONValue] = [.leaf("model_id.model", "=", .string(model)), .leaf("group_id", "!=", false)]
        for mode in modes { domain.append(.leaf("perm_\(mode == "delete" ? "unlink" : mode)", "=", true)) }
        let rows = try await client.searchRead("ir.model.access", domain, fields: ["group_id"])
        return Array(Set(rows.compactMap { $0.many2oneName("group_id") })).sorted()
    }

    /// A fixed-width table: model, read, write, create, what needs it.
    public var table: String {
        let width = max(24, rows.map(\.requirement.model.count).max() ?? 0 + 2)
        func pad(_ s: String, _ n: Int) -> String { s.count >= n ? s + " " : s + String(repeating: " ", count: n - s.count) }
        var lines = [pad("model", width) + pad("read", 7) + pad("write", 7) + pad("create", 8) + "used by"]
        for (requirement, granted) in rows {
            func mark(_ mode: String) -> String {
                guard requirement.modes.contains(mode) else { return "" }
                switch granted[mode] {
                case true?: return "yes"
                case false?: return "NO"
                case nil: return "?"
                }
            }
            lines.append(pad(requirement.model, width) + pad(mark("read"), 7) + pad(mark("write"), 7) + pad(mark("create"), 8) + requirement.usedBy)
        }
        return lines.joined(separator: "\n")
    }
}
