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
    /// Sets fields to the values of expressions (docs/flows.md#map). Every expression sees the event as it
    /// came into the step; the fields are then set in order. `tables` serve `lookup('name', key)`.
    case map([Mapping], tables: [String: [String: JSONValue]])
    /// Reads one record from a system of record (Odoo) and copies some of its fields into the event.
    case enrich(Enrichment)

    public struct Enrichment: Sendable, Hashable {
        /// The reader's name: the sink that reads (`odoo`).
        public var source: String
        public var model: String
        /// Record field → where its value is in the event (`default_code: /data/product`).
        public var match: [String: JSONPointer]
        /// Record field → where it goes in the event (`uom_id: /data/odoo/uom`).
        public var fields: [String: JSONPointer]
        /// No record: keep the event as it is, or refuse it (a dead letter that names the record).
        public var keepMissing: Bool

        public init(source: String, model: String, match: [String: JSONPointer], fields: [String: JSONPointer], keepMissing: Bool) {
            self.source = source
            self.model = model
            self.match = match
            self.fields = fields
            self.keepMissing = keepMissing
        }
    }

    public struct Mapping: Sendable, Hashable {
        public var target: JSONPointer
        public var expression: FlowExpression
        public init(target: JSONPointer, expression: FlowExpression) {
            self.target = target
            self.expression = expression
        }
    }

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

    /// What steps may read besides the event: cross-reference tables and systems of record.
    public struct Context: Sendable {
        public var xrefs: XrefResolver?
        public var readers: [String: any RecordReader]
        public init(xrefs: XrefResolver? = nil, readers: [String: any RecordReader] = [:]) {
            self.xrefs = xrefs
            self.readers = readers
        }
    }

    /// Like ``apply(_:)``, with the context for `xref` and `enrich` steps.
    public func apply(_ envelope: JSONValue, context: Context) async throws(StepError) -> [JSONValue] {
        if case .enrich(let e) = self { return try await Self.enrich(envelope, e, readers: context.readers) }
        let xrefs = context.xrefs
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
        case .enrich(let e):
            throw StepError("enrich needs a connection to \(e.source)")
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
        case .map(let mappings, let tables):
            var values: [JSONValue] = []
            for m in mappings {
                do { values.append(try m.expression.evaluate(envelope, tables: tables)) } catch {
                    throw StepError("map: \(m.target): \(error.message)")
                }
            }
            var result = envelope
            for (m, value) in zip(mappings, values) { result = try result.setting(m.target, to: value) }
            return [result]
        case .split(let pointer, let into):
            guard case .array(let items)? = pointer.resolve(in: envelope) else { throw StepError("split: \(pointer) is not an array") }
            var pieces: [JSONValue] = []
            for item in items {
                pieces.append(try envelope.setting(into, to: item))
            }
            return pieces
        }
    }

    static func enrich(_ envelope: JSONValue, _ e: Enrichment, readers: [String: any RecordReader]) async throws(StepError) -> [JSONValue] {
        guard let reader = readers[e.source] else { throw StepError("enrich: \(e.source) is not configured on this node") }
        var conditions: [String: JSONValue] = [:]
        for (field, pointer) in e.match {
            guard let value = pointer.resolve(in: envelope), value != .null else { throw StepError("enrich: \(pointer) is not in the event") }
            conditions[field] = value
        }
        let described = conditions.sorted { $0.key < $1.key }.map { "\($0.key) = \($0.value.canonicalText)" }.joined(separator: ", ")
        let records = try await reader.readRecords(model: e.model, where: conditions, fields: e.fields.keys.sorted())
        guard let record = records.first else {
            if e.keepMissing { return [envelope] }
            throw StepError("enrich: no \(e.model) with \(described) in \(e.source)")
        }
        guard records.count == 1 else { throw StepError("enrich: several \(e.model) records have \(described) in \(e.source); match on a unique field") }
        var result = envelope
        for (field, target) in e.fields.sorted(by: { $0.key < $1.key }) {
            result = try result.setting(target, to: record[field] ?? .null)
        }
        return [result]
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
    /// The step could not read what it needs (the system of record is down): retried, not dead.
    public var transient: Bool
    public init(_ message: String, transient: Bool = false) {
        self.message = message
        self.transient = transient
    }
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

    /// Runs `steps` in order over one envelope, `xref` and `enrich` steps against `context`.
    public static func run(_ steps: [FlowStep], on envelope: JSONValue, context: Context) async throws(StepError) -> [JSONValue] {
        var current = [envelope]
        for (index, step) in steps.enumerated() {
            var next: [JSONValue] = []
            for e in current {
                do { next += try await step.apply(e, context: context) } catch {
                    throw StepError("step \(index + 1): \(error.message)", transient: error.transient)
                }
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

/// A system of record that `enrich` steps read from (the Odoo sink).
public protocol RecordReader: Sendable {
    /// The records of `model` whose fields equal `conditions` (at most 2: one is the answer, two are
    /// ambiguous), with `fields`. A failure to reach the system is a transient ``StepError``.
    func readRecords(model: String, where conditions: [String: JSONValue], fields: [String]) async throws(StepError) -> [[String: JSONValue]]
}
