import Foundation
import MillwrightCore

/// Odoo 19 units of measure (`uom.uom`): no categories any more; each unit has `factor` (its size in the
/// root unit of its tree), `parent_path` (`"1/3/"`: Dozens under Units) and `rounding`.
public struct OdooUnit: Sendable, Hashable {
    public var id: Int
    public var name: String
    public var factor: Decimal
    public var root: String
    public var rounding: Decimal
}

public struct OdooUnits: Sendable {
    public var units: [Int: OdooUnit]

    /// UN/ECE Rec. 20 codes (the events' `uom`) to the names of Odoo's standard units. Extend it with
    /// `odoo.units` in the configuration for units a database adds.
    public static let standardNames: [String: [String]] = [
        "H87": ["Units"], "C62": ["Units"], "EA": ["Units"], "DZN": ["Dozens"], "KGM": ["kg"], "GRM": ["g"],
        "TNE": ["t"], "LBR": ["lb"], "ONZ": ["oz"], "LTR": ["L"], "MLT": ["ml"], "MTQ": ["m³"], "MTR": ["m"],
        "CMT": ["cm"], "MMT": ["mm"], "KMT": ["km"], "INH": ["in"], "FOT": ["ft"], "MTK": ["m²"], "HUR": ["Hours"],
        "MIN": ["Minutes"], "DAY": ["Days"], "KWH": ["KWH"],
    ]

    public var names: [String: [String]]

    init(records: [OdooRecord], names: [String: [String]] = OdooUnits.standardNames) {
        var units: [Int: OdooUnit] = [:]
        for r in records {
            let path = r.string("parent_path") ?? "\(r.id)/"
            units[r.id] = OdooUnit(
                id: r.id, name: r.string("name") ?? "#\(r.id)", factor: r.decimal("factor") ?? 1,
                root: String(path.split(separator: "/").first ?? Substring(String(r.id))),
                rounding: r.decimal("rounding") ?? Decimal(string: "0.01") ?? 0.01)
        }
        self.units = units
        self.names = names
    }

    static let fields = ["name", "factor", "parent_path", "rounding"]

    /// The Odoo unit for an event's UN/ECE code.
    public func unit(for code: UnitCode) throws(OdooError) -> OdooUnit {
        let candidates = names[code.rawValue] ?? []
        for name in candidates {
            if let unit = units.values.first(where: { $0.name == name }) { return unit }
        }
        throw OdooError(.dataProblem, "the unit \(code) has no counterpart in Odoo (looked for \(candidates.isEmpty ? "no name" : candidates.joined(separator: ", "))): map it under odoo.units in the configuration")
    }

    /// `quantity` in `from` expressed in `to`, rounded like Odoo rounds (half up to `to.rounding`).
    /// Units of different trees (kg vs Units) are a permanent error: Odoo 19 no longer refuses them itself.
    public func convert(_ quantity: Decimal, from: OdooUnit, to: OdooUnit) throws(OdooError) -> Decimal {
        if from.id == to.id { return quantity }
        guard from.root == to.root else {
            throw OdooError(.dataProblem, "cannot convert \(from.name) to \(to.name): they measure different things (dimension mismatch)")
        }
        let raw = quantity * from.factor / to.factor
        guard to.rounding > 0 else { return raw }
        var steps = raw / to.rounding
        var rounded = Decimal()
        NSDecimalRound(&rounded, &steps, 0, .plain)
        return rounded * to.rounding
    }
}
