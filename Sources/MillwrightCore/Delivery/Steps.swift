import Foundation

/// A step of a flow: turns one event envelope into zero (filtered out), one, or several (split). Every
/// step has this one contract; a new step is a new case here and its YAML reader, nothing else.
public enum FlowStep: Sendable, Hashable {
    /// Keeps the event only when the value at `pointer` satisfies `condition` (or does not, with `negate`).
    case filter(pointer: JSONPointer, condition: Condition, negate: Bool)
    /// Sets fields: each pointer gets a literal or the value at another pointer.
    case set([Assignment])
    /// Replaces the value at `pointer` through a table (a plant id to a canonical reference); a value not
    /// in the table is an error or kept, as `missing` says.
    case lookup(pointer: JSONPointer, table: [String: JSONValue], keepMissing: Bool)
    /// One event per element of the array at `pointer`, each with the element at `into`.
    case split(pointer: JSONPointer, into: JSONPointer)
    /// Maps a native status at `pointer` to a canonical order state (`released`, `in_progress`, …), keeping
    /// the native one at `native` when given. Table values are checked against the states when loaded.
    case statusMap(pointer: JSONPointer, table: [String: OrderState], native: JSONPointer?, keepMissing: Bool)
    /// Converts the quantity at `quantity`, in the UN/ECE unit at `uom`, to `to` (same dimension only;
    /// kilograms to pieces is an error, never a guess) and writes both back.
    case convertUnits(quantity: JSONPointer, uom: JSONPointer, to: UnitCode)
    /// Replaces the source system's id at `pointer` with its canonical value from the cross-reference
    /// table `(system, kind)` (managed through `/v1/xrefs`); a missing entry is an error or kept.
    case xref(pointer: JSONPointer, system: String, kind: String, keepMissing: Bool)

    public enum Condition: Sendable, Hashable {
        case equals(JSONValue)
        case oneOf([JSONValue])
        case exists
    }

    public struct Assignment: Sendable, Hashable {
        public enum Source: Sendable, Hashable {
            case literal(JSONValue)
            case pointer(JSONPointer)
        }
        public var target: JSONPointer
        public var source: Source
        public init(target: JSONPointer, source: Source) {
            self.target = target
            self.source = source
        }
    }

    /// Looks a cross-reference up: `(system, kind, external id)` → canonical value.
    public typealias XrefResolver = @Sendable (String, String, String) async throws -> String?

    /// Like ``apply(_:)``, with the cross-reference tables for `xref` steps.
    public func apply(_ envelope: JSONValue, xrefs: XrefResolver?) async throws(StepError) -> [JSONValue] {
        guard case .xref(let pointer, let system, let kind, let keepMissing) = self else { return try apply(envelope) }
        guard let value = pointer.resolve(in: envelope) else { throw StepError("xref: \(pointer) is not in the event") }
        let key = value.stringValue ?? value.canonicalText
        guard let xrefs else { throw StepError("xref: no cross-reference tables here") }
        let mapped: String?
        do { mapped = try await xrefs(system, kind, key) } catch { throw StepError("xref: the cross-reference table cannot be read: \(error)") }
        guard let mapped else {
            if keepMissing { return [envelope] }
            throw StepError("xref: \(system) \(kind) '\(key)' has no cross-reference: add it (PUT /v1/xrefs), then replay")
        }
        return [try envelope.setting(pointer, to: .string(mapped))]
    }

    public func apply(_ envelope: JSONValue) throws(StepError) -> [JSONValue] {
        switch self {
        case .xref:
            throw StepError("xref needs the cross-reference tables")
        case .filter(let pointer, let condition, let negate):
            let value = pointer.resolve(in: envelope)
            let holds: Bool
            switch condition {
            case .exists: holds = value != nil && value != .null
            case .equals(let wanted): holds = value.map { Self.same($0, wanted) } ?? false
            case .oneOf(let wanted): holds = value.map { v in wanted.contains { Self.same(v, $0) } } ?? false
            }
            return holds != negate ? [envelope] : []
        case .set(let assignments):
            var result = envelope
            for a in assignments {
                let value: JSONValue
                switch a.source {
                case .literal(let literal): value = literal
                case .pointer(let from):
                    guard let found = from.resolve(in: envelope) else {
                        throw StepError("set: \(from) is not in the event, so \(a.target) cannot be set from it")
                    }
                    value = found
                }
                result = try result.setting(a.target, to: value)
            }
            return [result]
        case .lookup(let pointer, let table, let keepMissing):
            guard let value = pointer.resolve(in: envelope) else { throw StepError("lookup: \(pointer) is not in the event") }
            let key = value.stringValue ?? value.canonicalText
            guard let mapped = table[key] else {
                if keepMissing { return [envelope] }
                throw StepError("lookup: '\(key)' at \(pointer) is not in the flow's table: add it, then replay")
            }
            return [try envelope.setting(pointer, to: mapped)]
        case .statusMap(let pointer, let table, let native, let keepMissing):
            guard let value = pointer.resolve(in: envelope) else { throw StepError("status-map: \(pointer) is not in the event") }
            let key = value.stringValue ?? value.canonicalText
            guard let state = table[key] else {
                if keepMissing { return [envelope] }
                throw StepError("status-map: the status '\(key)' at \(pointer) is not in the flow's table: map it to one of \(OrderState.allCases.map(\.rawValue).joined(separator: ", "))")
            }
            var result = try envelope.setting(pointer, to: .string(state.rawValue))
            if let native { result = try result.setting(native, to: value) }
            return [result]
        case .convertUnits(let quantityPointer, let uomPointer, let target):
            guard case .number(let text)? = quantityPointer.resolve(in: envelope), let quantity = Decimal(string: text) else {
                throw StepError("convert-units: \(quantityPointer) is not a number")
            }
            guard let unit = uomPointer.resolve(in: envelope)?.stringValue else { throw StepError("convert-units: \(uomPointer) is not a unit code") }
            let converted: Decimal
            do { converted = try UnitCatalogue.standard.convert(quantity, from: UnitCode(unit), to: target) } catch {
                throw StepError("convert-units: \(error.message)")
            }
            return [try envelope.setting(quantityPointer, to: .number(converted.description)).setting(uomPointer, to: .string(target.rawValue))]
        case .split(let pointer, let into):
            guard case .array(let items)? = pointer.resolve(in: envelope) else { throw StepError("split: \(pointer) is not an array") }
            var pieces: [JSONValue] = []
            for item in items {
                pieces.append(try envelope.setting(into, to: item))
            }
            return pieces
        }
    }

    /// Numbers compare by value (`5` equals `5.0`), everything else exactly.
    static func same(_ a: JSONValue, _ b: JSONValue) -> Bool {
        if case .number(let x) = a, case .number(let y) = b { return Decimal(string: x) == Decimal(string: y) }
        return a == b
    }
}

/// A step refused the event: permanent (the data or the flow must change, then a replay).
public struct StepError: Error, Sendable, Equatable, CustomStringConvertible {
    public var message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}

extension FlowStep {
    /// Runs `steps` in order over one envelope.
    public static func run(_ steps: [FlowStep], on envelope: JSONValue) throws(StepError) -> [JSONValue] {
        var current = [envelope]
        for (index, step) in steps.enumerated() {
            var next: [JSONValue] = []
            for e in current {
                do { next += try step.apply(e) } catch { throw StepError("step \(index + 1): \(error.message)") }
            }
            current = next
        }
        return current
    }

    /// Runs `steps` in order over one envelope, `xref` steps against `xrefs`.
    public static func run(_ steps: [FlowStep], on envelope: JSONValue, xrefs: XrefResolver?) async throws(StepError) -> [JSONValue] {
        var current = [envelope]
        for (index, step) in steps.enumerated() {
            var next: [JSONValue] = []
            for e in current {
                do { next += try await step.apply(e, xrefs: xrefs) } catch { throw StepError("step \(index + 1): \(error.message)") }
            }
            current = next
        }
        return current
    }
}

extension JSONValue {
    /// A copy with `value` at `pointer`; missing objects on the way are created, arrays are not grown.
    public func setting(_ pointer: JSONPointer, to value: JSONValue) throws(StepError) -> JSONValue {
        guard let tokens = pointer.tokens else { throw StepError("'\(pointer)' is not a JSON pointer") }
        return try Self.set(self, tokens[...], value, pointer)
    }

    private static func set(_ node: JSONValue, _ tokens: ArraySlice<String>, _ value: JSONValue, _ pointer: JSONPointer) throws(StepError) -> JSONValue {
        guard let head = tokens.first else { return value }
        switch node {
        case .object(var members):
            members[head] = try set(members[head] ?? .object([:]), tokens.dropFirst(), value, pointer)
            return .object(members)
        case .array(var items):
            guard let index = Int(head), items.indices.contains(index) else { throw StepError("\(pointer): no element \(head)") }
            items[index] = try set(items[index], tokens.dropFirst(), value, pointer)
            return .array(items)
        case .null:
            return .object([head: try set(.object([:]), tokens.dropFirst(), value, pointer)])
        default:
            throw StepError("\(pointer): cannot set a field inside \(node.kindDescription)")
        }
    }
}
