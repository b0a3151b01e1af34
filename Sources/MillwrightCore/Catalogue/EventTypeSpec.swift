/// Who sends a canonical type to whom, as written in the catalogue (`MES → Odoo`).
public struct EventDirection: Sendable, Hashable {
    public var from: String
    public var to: String
}

/// The definition of one canonical event type: its name, its `data` fields and their rules.
///
/// This single definition is the source of validation (``validate(data:units:)``),
/// of the published JSON Schema (``jsonSchema(units:)``) and of examples: nothing is maintained twice.
public struct EventTypeSpec: Sendable {
    public var type: String
    public var summary: String
    public var direction: EventDirection
    public var fields: [FieldSpec]
    /// Groups of fields of which at least one must be present (e.g. a quality hold needs a scope).
    public var requireOneOf: [[String]]

    public init(
        _ type: String,
        _ summary: String,
        from: String,
        to: String,
        fields: [FieldSpec],
        requireOneOf: [[String]] = []
    ) {
        self.type = type
        self.summary = summary
        self.direction = EventDirection(from: from, to: to)
        self.fields = fields
        self.requireOneOf = requireOneOf
    }

    /// Validates an event's `data`; errors carry pointers under `/data`.
    public func validate(data: JSONValue?, units: UnitCatalogue) -> [FieldError] {
        let pointer = JSONPointer.root.appending("data")
        guard let data, data != .null else {
            return [FieldError(pointer, "is required: a \(type) event carries its fields in data")]
        }
        guard case .object(let members) = data else {
            return [FieldError(pointer, "must be a JSON object, not \(data.kindDescription)")]
        }
        var errors: [FieldError] = []
        FieldSpec.validate(fields, members, at: pointer, units: units, into: &errors)
        for group in requireOneOf {
            let present = group.contains { name in
                if let v = members[name], v != .null { return true }
                return false
            }
            if !present {
                errors.append(FieldError(pointer, "needs at least one of \(group.joined(separator: ", "))"))
            }
        }
        return errors
    }

    /// The business keys (order, product, lot, equipment) named anywhere in `data`,
    /// including inside arrays such as `consumed[].product`.
    public func businessKeys(in data: JSONValue?) -> Set<BusinessKey> {
        var keys: Set<BusinessKey> = []
        guard let data else { return keys }
        FieldSpec.collectKeys(fields, data, into: &keys)
        return keys
    }
}

/// One indexed business identifier of an event: `order = WH/MO/00042`.
public struct BusinessKey: Sendable, Hashable, Codable {
    public var kind: BusinessKeyKind
    public var value: String

    public init(_ kind: BusinessKeyKind, _ value: String) {
        self.kind = kind
        self.value = value
    }
}

extension FieldSpec {
    static func collectKeys(_ fields: [FieldSpec], _ value: JSONValue, into keys: inout Set<BusinessKey>) {
        guard case .object(let members) = value else { return }
        for field in fields {
            guard let member = members[field.name] else { continue }
            field.kind.collectKeys(member, into: &keys)
        }
    }
}

extension FieldKind {
    func collectKeys(_ value: JSONValue, into keys: inout Set<BusinessKey>) {
        switch self {
        case .reference(let kind):
            if let key = kind.businessKey, case .string(let s) = value, !s.isEmpty { keys.insert(BusinessKey(key, s)) }
        case .array(let element, _):
            for item in value.arrayValue ?? [] { element.collectKeys(item, into: &keys) }
        case .object(let fields):
            FieldSpec.collectKeys(fields, value, into: &keys)
        default:
            break
        }
    }
}
