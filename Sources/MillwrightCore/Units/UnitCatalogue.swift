import Foundation

/// The physical dimension a unit measures. Quantities convert only within one dimension.
public enum Dimension: String, Sendable, Codable, CaseIterable {
    case mass, length, area, volume, count, time
}

/// A UN/ECE Recommendation 20 unit code, e.g. `KGM`, `H87`.
public struct UnitCode: RawRepresentable, Sendable, Hashable, Codable, CustomStringConvertible {
    public var rawValue: String
    public init(rawValue: String) { self.rawValue = rawValue }
    public init(_ rawValue: String) { self.rawValue = rawValue }
    public var description: String { rawValue }
}

/// One unit of the catalogue: its code, name, dimension and size in the dimension's base unit
/// (kilogram, metre, square metre, cubic metre, piece, second).
public struct UnitDefinition: Sendable, Hashable {
    public var code: UnitCode
    public var name: String
    public var dimension: Dimension
    public var factorToBase: Decimal

    public init(_ code: String, _ name: String, _ dimension: Dimension, _ factor: String) {
        self.code = UnitCode(code)
        self.name = name
        self.dimension = dimension
        // The factors below are literals checked by UnitCatalogueTests; a typo fails a test, not a plant.
        self.factorToBase = Decimal(string: factor, locale: Locale(identifier: "en_US_POSIX")) ?? .nan
    }
}

/// Why a conversion cannot be done. Always a permanent error: Millwright never guesses across dimensions.
public struct UnitConversionError: Error, Sendable, Equatable, CustomStringConvertible {
    public enum Code: String, Sendable { case unknownUnit = "MW-UNIT-0001", dimensionMismatch = "MW-UNIT-0002" }
    public var code: Code
    public var message: String
    public var description: String { "\(code.rawValue): \(message)" }
}

/// The units Millwright knows, with conversions within each dimension.
public struct UnitCatalogue: Sendable {
    public let units: [UnitCode: UnitDefinition]

    public init(_ definitions: [UnitDefinition]) {
        self.units = Dictionary(definitions.map { ($0.code, $0) }, uniquingKeysWith: { first, _ in first })
    }

    public func definition(_ code: UnitCode) -> UnitDefinition? { units[code] }

    public func contains(_ code: String) -> Bool { units[UnitCode(code)] != nil }

    /// Converts `quantity` from one unit to another of the same dimension.
    ///
    /// ```swift
    /// try UnitCatalogue.standard.convert(2, from: UnitCode("DZN"), to: UnitCode("H87"))  // 24
    /// ```
    /// - Throws: ``UnitConversionError`` for an unknown unit or a different dimension.
    public func convert(_ quantity: Decimal, from: UnitCode, to: UnitCode) throws(UnitConversionError) -> Decimal {
        guard let source = units[from] else {
            throw UnitConversionError(code: .unknownUnit, message: "unknown unit '\(from)': use a UN/ECE Rec. 20 code such as H87, KGM, MTR, LTR")
        }
        guard let target = units[to] else {
            throw UnitConversionError(code: .unknownUnit, message: "unknown unit '\(to)': use a UN/ECE Rec. 20 code such as H87, KGM, MTR, LTR")
        }
        guard source.dimension == target.dimension else {
            throw UnitConversionError(
                code: .dimensionMismatch,
                message: "cannot convert \(source.name) (\(from), \(source.dimension.rawValue)) to \(target.name) (\(to), \(target.dimension.rawValue)): the units measure different things; fix the unit at the source"
            )
        }
        if from == to { return quantity }
        return quantity * source.factorToBase / target.factorToBase
    }

    public var sortedCodes: [String] { units.keys.map(\.rawValue).sorted() }

    /// The standard catalogue: common mass, length, area, volume, count and time units of UN/ECE Rec. 20.
    public static let standard = UnitCatalogue([
        // mass, base kilogram
        UnitDefinition("KGM", "kilogram", .mass, "1"),
        UnitDefinition("GRM", "gram", .mass, "0.001"),
        UnitDefinition("MGM", "milligram", .mass, "0.000001"),
        UnitDefinition("TNE", "tonne", .mass, "1000"),
        UnitDefinition("LBR", "pound", .mass, "0.45359237"),
        UnitDefinition("ONZ", "ounce", .mass, "0.028349523125"),
        // length, base metre
        UnitDefinition("MTR", "metre", .length, "1"),
        UnitDefinition("KMT", "kilometre", .length, "1000"),
        UnitDefinition("CMT", "centimetre", .length, "0.01"),
        UnitDefinition("MMT", "millimetre", .length, "0.001"),
        UnitDefinition("INH", "inch", .length, "0.0254"),
        UnitDefinition("FOT", "foot", .length, "0.3048"),
        UnitDefinition("YRD", "yard", .length, "0.9144"),
        // area, base square metre
        UnitDefinition("MTK", "square metre", .area, "1"),
        UnitDefinition("CMK", "square centimetre", .area, "0.0001"),
        UnitDefinition("MMK", "square millimetre", .area, "0.000001"),
        UnitDefinition("FTK", "square foot", .area, "0.09290304"),
        UnitDefinition("INK", "square inch", .area, "0.00064516"),
        // volume, base cubic metre
        UnitDefinition("MTQ", "cubic metre", .volume, "1"),
        UnitDefinition("LTR", "litre", .volume, "0.001"),
        UnitDefinition("MLT", "millilitre", .volume, "0.000001"),
        UnitDefinition("CMQ", "cubic centimetre", .volume, "0.000001"),
        UnitDefinition("GLL", "US gallon", .volume, "0.003785411784"),
        UnitDefinition("FTQ", "cubic foot", .volume, "0.028316846592"),
        // count, base piece
        UnitDefinition("H87", "piece", .count, "1"),
        UnitDefinition("C62", "one (unit)", .count, "1"),
        UnitDefinition("EA", "each", .count, "1"),
        UnitDefinition("PR", "pair", .count, "2"),
        UnitDefinition("DZN", "dozen", .count, "12"),
        UnitDefinition("GRO", "gross", .count, "144"),
        // time, base second
        UnitDefinition("SEC", "second", .time, "1"),
        UnitDefinition("MIN", "minute", .time, "60"),
        UnitDefinition("HUR", "hour", .time, "3600"),
        UnitDefinition("DAY", "day", .time, "86400"),
        UnitDefinition("WEE", "week", .time, "604800"),
    ])
}
