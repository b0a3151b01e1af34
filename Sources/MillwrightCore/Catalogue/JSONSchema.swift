/// JSON Schema (draft 2020-12) generated from the catalogue's definitions.
extension EventTypeSpec {
    /// The schema of a whole CloudEvent of this type: envelope attributes and `data`.
    public func jsonSchema(units: UnitCatalogue) -> JSONValue {
        var dataSchema = FieldSpec.objectSchema(fields, units: units)
        if !requireOneOf.isEmpty {
            let alternatives: [JSONValue] = requireOneOf.flatMap { group in
                group.map { name -> JSONValue in .object(["required": .array([.string(name)])]) }
            }
            if case .object(var members) = dataSchema {
                members["anyOf"] = .array(alternatives)
                dataSchema = .object(members)
            }
        }
        return .object([
            "$schema": "https://json-schema.org/draft/2020-12/schema",
            "$id": .string("urn:millwright:event:\(type)"),
            "title": .string(type),
            "description": .string("\(summary) (\(direction.from) → \(direction.to)). A CloudEvents 1.0 envelope; data fields are snake_case, quantities decimal with a UN/ECE Rec. 20 unit."),
            "type": "object",
            "required": ["specversion", "id", "source", "type", "data"],
            "properties": .object([
                "specversion": .object(["const": "1.0"]),
                "id": .object(["type": "string", "minLength": 1, "description": "Unique within source; (source, id) identifies the event."]),
                "source": .object(["type": "string", "minLength": 1, "format": "uri-reference"]),
                "type": .object(["const": .string(type)]),
                "subject": .object(["type": "string", "description": "The business key, e.g. production-order/WH/MO/00042."]),
                "time": .object(["type": "string", "format": "date-time"]),
                "datacontenttype": .object(["enum": ["application/json"]]),
                "dataschema": .object(["type": "string", "format": "uri"]),
                "partitionkey": .object(["type": "string", "minLength": 1, "description": "Events with the same key are delivered in order."]),
                "sequence": .object(["type": "string", "pattern": "^[0-9]{1,18}$", "description": "Order within the partition key."]),
                "correlationid": .object(["type": "string"]),
                "causationid": .object(["type": "string"]),
                "traceparent": .object(["type": "string"]),
                "data": dataSchema,
            ]),
        ])
    }
}

extension FieldSpec {
    static func objectSchema(_ fields: [FieldSpec], units: UnitCatalogue) -> JSONValue {
        var properties: [String: JSONValue] = [:]
        for field in fields {
            var schema = field.kind.schema(units: units)
            if !field.required {
                // Optional fields may be sent as null, which means "absent".
                schema = .object(["anyOf": .array([schema, .object(["type": "null"])])])
            }
            if !field.summary.isEmpty, case .object(var members) = schema {
                members["description"] = .string(field.summary)
                schema = .object(members)
            }
            properties[field.name] = schema
        }
        let required = fields.filter(\.required).map { JSONValue.string($0.name) }
        var object: [String: JSONValue] = ["type": "object", "properties": .object(properties)]
        if !required.isEmpty { object["required"] = .array(required) }
        return .object(object)
    }
}

extension FieldKind {
    func schema(units: UnitCatalogue) -> JSONValue {
        switch self {
        case .text:
            return ["type": "string", "minLength": 1, "maxLength": .number(String(FieldLimits.maxTextLength))]
        case .reference(let kind):
            return .object([
                "type": "string", "minLength": 1, "maxLength": .number(String(FieldLimits.maxReferenceLength)),
                "x-millwright-reference": .string(kind.rawValue),
            ])
        case .quantity:
            return ["type": "number", "exclusiveMinimum": 0, "exclusiveMaximum": 1_000_000_000_000_000]
        case .nonNegativeQuantity:
            return ["type": "number", "minimum": 0, "exclusiveMaximum": 1_000_000_000_000_000]
        case .decimal:
            return ["type": "number", "exclusiveMinimum": -1_000_000_000_000_000, "exclusiveMaximum": 1_000_000_000_000_000]
        case .unit:
            return .object(["type": "string", "enum": .array(units.sortedCodes.map { .string($0) }), "description": "UN/ECE Rec. 20 unit code"])
        case .boolean:
            return ["type": "boolean"]
        case .dateTime:
            return ["type": "string", "format": "date-time"]
        case .integer(let range):
            return .object(["type": "integer", "minimum": .number(String(range.lowerBound)), "maximum": .number(String(range.upperBound))])
        case .enumeration(let values):
            return .object(["type": "string", "enum": .array(values.map { .string($0) })])
        case .scalar:
            return ["type": ["number", "string", "boolean"]]
        case .array(let element, let minItems):
            var schema: [String: JSONValue] = ["type": "array", "items": element.schema(units: units)]
            if minItems > 0 { schema["minItems"] = .number(String(minItems)) }
            return .object(schema)
        case .object(let fields):
            return FieldSpec.objectSchema(fields, units: units)
        case .map(let element):
            return .object(["type": "object", "additionalProperties": element.schema(units: units)])
        }
    }
}

extension EventTypeSpec {
    /// A complete example `data` object with every field filled, used by docs and tests.
    public func exampleData() -> JSONValue {
        FieldSpec.example(fields)
    }
}

extension FieldSpec {
    static func example(_ fields: [FieldSpec]) -> JSONValue {
        .object(Dictionary(uniqueKeysWithValues: fields.map { ($0.name, $0.kind.example(name: $0.name)) }))
    }
}

extension FieldKind {
    func example(name: String) -> JSONValue {
        switch self {
        case .text: .string("example \(name.replacingOccurrences("_", with: " "))")
        case .reference(let kind):
            switch kind {
            case .order: "WH/MO/00042"
            case .product: "FURN_8522"
            case .lot: "LOT-2026-0042"
            case .location: "WH/Stock"
            case .workCenter: "ASSEMBLY-1"
            case .equipment: "PRESS-01"
            case .purchaseOrder: "P00017"
            case .picking: "WH/OUT/00021"
            case .hold: "HOLD-0007"
            case .inspection: "QC-2026-0091"
            case .operation: "Assembly"
            case .maintenanceRequest: "MR-0012"
            }
        case .quantity: .number("5")
        case .nonNegativeQuantity: .number("0")
        case .decimal: .number("12.5")
        case .unit: "H87"
        case .boolean: .bool(false)
        case .dateTime: "2026-11-22T10:15:00Z"
        case .integer(let range): .number(String(range.lowerBound))
        case .enumeration(let values): .string(values.first ?? "")
        case .scalar: .number("1")
        case .array(let element, _): .array([element.example(name: name)])
        case .object(let fields): FieldSpec.example(fields)
        case .map(let element): .object(["temperature": element.example(name: name)])
        }
    }
}
