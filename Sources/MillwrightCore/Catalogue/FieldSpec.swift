import Foundation

/// Business identifiers that Millwright indexes, so an operator can ask for everything about one of them.
public enum BusinessKeyKind: String, Sendable, Codable, CaseIterable {
    case order, product, lot, equipment
}

/// What a reference field names. References are business identifiers, never Odoo database ids.
public enum ReferenceKind: String, Sendable, Hashable {
    case order, product, lot, location, workCenter = "work_center", equipment
    case purchaseOrder = "purchase_order", picking, hold, inspection, operation, maintenanceRequest = "request"

    /// The business key this reference is indexed under, if any.
    public var businessKey: BusinessKeyKind? {
        switch self {
        case .order: .order
        case .product: .product
        case .lot: .lot
        case .equipment: .equipment
        default: nil
        }
    }
}

/// The kind of value a field holds. One definition drives validation, JSON Schema and examples.
public indirect enum FieldKind: Sendable {
    /// Free text, non-empty, bounded length.
    case text
    /// A business identifier.
    case reference(ReferenceKind)
    /// A decimal quantity greater than zero.
    case quantity
    /// A decimal quantity zero or greater (counts, durations).
    case nonNegativeQuantity
    /// Any decimal number (measurements, limits).
    case decimal
    /// A UN/ECE Rec. 20 unit code from the unit catalogue.
    case unit
    case boolean
    /// An RFC 3339 date-time with offset.
    case dateTime
    case integer(ClosedRange<Int>)
    case enumeration([String])
    /// A number, string or boolean.
    case scalar
    case array(FieldKind, minItems: Int)
    case object([FieldSpec])
    /// An object whose keys are names and whose values are all of one kind.
    case map(FieldKind)
}

/// One field of a canonical event's `data`.
public struct FieldSpec: Sendable {
    public var name: String
    public var kind: FieldKind
    public var required: Bool
    public var summary: String

    public init(_ name: String, _ kind: FieldKind, required: Bool = false, _ summary: String = "") {
        self.name = name
        self.kind = kind
        self.required = required
        self.summary = summary
    }
}

/// Limits that keep hostile input from costing more than it should.
enum FieldLimits {
    static let maxTextLength = 1024
    static let maxReferenceLength = 256
    static let maxArrayItems = 10_000
    static let posix = Locale(identifier: "en_US_POSIX")
    static let maxMagnitude = Decimal(string: "1000000000000000", locale: posix) ?? 0
    static let minMagnitude = Decimal(sign: .plus, exponent: -20, significand: 1)
    static let maxNumberLexeme = 40
}

extension FieldKind {
    /// Validates `value` as this kind; appends an error per problem found (never stops at the first).
    func validate(_ value: JSONValue, at pointer: JSONPointer, units: UnitCatalogue, into errors: inout [FieldError]) {
        switch self {
        case .text:
            guard case .string(let s) = value else { return errors.append(.init(pointer, "must be text, not \(value.kindDescription)")) }
            if s.isBlank { errors.append(.init(pointer, "must not be empty")) }
            if s.utf8.count > FieldLimits.maxTextLength, s.unicodeScalars.count > FieldLimits.maxTextLength {
                errors.append(.init(pointer, "is longer than \(FieldLimits.maxTextLength) characters"))
            }
        case .reference(let kind):
            guard case .string(let s) = value else {
                return errors.append(.init(pointer, "must be a \(kind.rawValue.replacingOccurrences("_", with: " ")) reference (text), not \(value.kindDescription)"))
            }
            if s.isBlank { errors.append(.init(pointer, "must not be empty")) }
            if s.utf8.count > FieldLimits.maxReferenceLength, s.unicodeScalars.count > FieldLimits.maxReferenceLength {
                errors.append(.init(pointer, "is longer than \(FieldLimits.maxReferenceLength) characters"))
            }
        case .quantity, .nonNegativeQuantity, .decimal:
            guard case .number(let lexeme) = value else {
                return errors.append(.init(pointer, "must be a number, not \(value.kindDescription)"))
            }
            guard let d = FieldKind.decimal(lexeme) else {
                return errors.append(.init(pointer, "the number \(lexeme.prefix(24)) is out of range: quantities must be less than 10^15 in size, with at most 18 significant digits and nothing smaller than 10^-20"))
            }
            if case .quantity = self, d <= 0 {
                errors.append(.init(pointer, "must be greater than zero (got \(lexeme)); report a reversal as its own event"))
            }
            if case .nonNegativeQuantity = self, d < 0 {
                errors.append(.init(pointer, "must be zero or greater (got \(lexeme))"))
            }
        case .unit:
            guard case .string(let s) = value else {
                return errors.append(.init(pointer, "must be a UN/ECE Rec. 20 unit code (text), not \(value.kindDescription)"))
            }
            if !units.contains(s) {
                errors.append(.init(pointer, "unknown unit '\(s.prefix(32))': use a UN/ECE Rec. 20 code such as H87 (piece), KGM, MTR, LTR, DZN"))
            }
        case .boolean:
            guard case .bool = value else { return errors.append(.init(pointer, "must be true or false, not \(value.kindDescription)")) }
        case .dateTime:
            guard case .string(let s) = value else {
                return errors.append(.init(pointer, "must be an RFC 3339 time such as 2026-11-22T10:15:00Z, not \(value.kindDescription)"))
            }
            if RFC3339.parse(s) == nil {
                errors.append(.init(pointer, "'\(s.prefix(40))' is not an RFC 3339 time with offset, such as 2026-11-22T10:15:00Z or 2026-11-22T11:15:00+01:00"))
            }
        case .integer(let range):
            guard case .number(let lexeme) = value, let i = Int(lexeme) else {
                return errors.append(.init(pointer, "must be a whole number from \(range.lowerBound) to \(range.upperBound)"))
            }
            if !range.contains(i) { errors.append(.init(pointer, "must be from \(range.lowerBound) to \(range.upperBound) (got \(i))")) }
        case .enumeration(let allowed):
            guard case .string(let s) = value, allowed.contains(s) else {
                return errors.append(.init(pointer, "must be one of \(allowed.joined(separator: ", "))"))
            }
        case .scalar:
            switch value {
            case .number, .string, .bool: break
            default: errors.append(.init(pointer, "must be a number, text or boolean, not \(value.kindDescription)"))
            }
        case .array(let element, let minItems):
            guard case .array(let items) = value else { return errors.append(.init(pointer, "must be an array, not \(value.kindDescription)")) }
            if items.count < minItems { errors.append(.init(pointer, "needs at least \(minItems) item\(minItems == 1 ? "" : "s")")) }
            if items.count > FieldLimits.maxArrayItems {
                return errors.append(.init(pointer, "has more than \(FieldLimits.maxArrayItems) items"))
            }
            for (i, item) in items.enumerated() {
                element.validate(item, at: pointer.appending(i), units: units, into: &errors)
            }
        case .object(let fields):
            guard case .object(let members) = value else { return errors.append(.init(pointer, "must be an object, not \(value.kindDescription)")) }
            FieldSpec.validate(fields, members, at: pointer, units: units, into: &errors)
        case .map(let element):
            guard case .object(let members) = value else { return errors.append(.init(pointer, "must be an object, not \(value.kindDescription)")) }
            for (key, item) in members.sorted(by: { $0.key < $1.key }) {
                element.validate(item, at: pointer.appending(key), units: units, into: &errors)
            }
        }
    }

    /// Reads a number's text as a `Decimal` within Millwright's bounds, or `nil`.
    public static func decimal(_ lexeme: String) -> Decimal? {
        guard lexeme.utf8.count <= FieldLimits.maxNumberLexeme else { return nil }
        // Count significant digits of the mantissa: Decimal holds 38, quantities need far fewer.
        var significant = 0
        var seenNonZero = false
        for c in lexeme.utf8 {
            if c == UInt8(ascii: "e") || c == UInt8(ascii: "E") { break }
            guard c >= 0x30 && c <= 0x39 else { continue }
            if c != 0x30 { seenNonZero = true }
            if seenNonZero { significant += 1 }
        }
        guard significant <= 18 else { return nil }
        guard let d = Decimal(string: lexeme, locale: FieldLimits.posix), !d.isNaN else { return nil }
        let magnitude = d < 0 ? -d : d
        guard magnitude < FieldLimits.maxMagnitude else { return nil }
        // Reject values too small to be a plant quantity (exponent underflow games like 1e-300).
        if magnitude != 0, magnitude < FieldLimits.minMagnitude { return nil }
        return d
    }
}

extension FieldSpec {
    static func validate(
        _ fields: [FieldSpec],
        _ members: [String: JSONValue],
        at pointer: JSONPointer,
        units: UnitCatalogue,
        into errors: inout [FieldError]
    ) {
        for field in fields {
            let fieldPointer = pointer.appending(field.name)
            switch members[field.name] {
            case nil, .some(.null):
                if field.required { errors.append(.init(fieldPointer, "is required")) }
            case .some(let value):
                field.kind.validate(value, at: fieldPointer, units: units, into: &errors)
            }
        }
        // Unknown fields are kept (forward compatible) and never required: nothing to check.
    }
}

extension String {
    /// Empty or only spaces and tabs.
    var isBlank: Bool { utf8.allSatisfy { $0 == 0x20 || $0 == 0x09 } }
}
