import Foundation

extension Subscription {
    /// The filter as JSON: `[{"pointer": "/data/line", "equals": "L1"}, {"pointer": "/data/final", "exists": true, "not": true}]`,
    /// the same conditions as a flow's `filter` step (`equals`, `in`, `exists`, optional `not`).
    public static func filterJSON(_ steps: [FlowStep]) -> JSONValue {
        .array(steps.compactMap { step in
            guard case .filter(let pointer, let condition, let negate) = step else { return nil }
            var members: [String: JSONValue] = ["pointer": .string(pointer.rawValue)]
            switch condition {
            case .equals(let value): members["equals"] = value
            case .oneOf(let values): members["in"] = .array(values)
            case .exists: members["exists"] = .bool(true)
            }
            if negate { members["not"] = .bool(true) }
            return .object(members)
        })
    }

    /// Reads a filter written as ``filterJSON(_:)`` (one condition object or a list of them). Errors carry
    /// the field's pointer under `at`.
    public static func parseFilter(_ json: JSONValue, at path: JSONPointer) -> Result<[FlowStep], FieldErrors> {
        let items: [(JSONValue, JSONPointer)]
        switch json {
        case .array(let list): items = list.enumerated().map { ($1, path.appending($0)) }
        case .object: items = [(json, path)]
        case .null: return .success([])
        default: return .failure(FieldErrors([FieldError(path, "a filter is an object {pointer, equals|in|exists, not?} or a list of them")]))
        }
        var steps: [FlowStep] = []
        var errors: [FieldError] = []
        for (item, at) in items {
            guard let members = item.objectValue else {
                errors.append(FieldError(at, "expected an object {pointer, equals|in|exists, not?}"))
                continue
            }
            for key in members.keys.sorted() where !["pointer", "equals", "in", "exists", "not"].contains(key) {
                errors.append(FieldError(at.appending(key), "unknown field; accepted: pointer, equals, in, exists, not"))
            }
            guard let text = members["pointer"]?.stringValue, JSONPointer(rawValue: text).tokens != nil else {
                errors.append(FieldError(at.appending("pointer"), "required: a JSON pointer into the event such as /data/line"))
                continue
            }
            let conditions = ["equals", "in", "exists"].filter { members[$0] != nil }
            guard conditions.count == 1, let which = conditions.first, let value = members[which] else {
                errors.append(FieldError(at, "exactly one of equals, in, exists"))
                continue
            }
            let condition: FlowStep.Condition
            switch which {
            case "equals":
                condition = .equals(value)
            case "in":
                guard let list = value.arrayValue else {
                    errors.append(FieldError(at.appending("in"), "expected a list of values"))
                    continue
                }
                condition = .oneOf(list)
            default:
                guard value.boolValue == true else {
                    errors.append(FieldError(at.appending("exists"), "must be true (use not: true for 'does not exist')"))
                    continue
                }
                condition = .exists
            }
            var negate = false
            if let n = members["not"] {
                guard let b = n.boolValue else {
                    errors.append(FieldError(at.appending("not"), "must be true or false"))
                    continue
                }
                negate = b
            }
            steps.append(.filter(pointer: JSONPointer(rawValue: text), condition: condition, negate: negate))
        }
        return errors.isEmpty ? .success(steps) : .failure(FieldErrors(errors))
    }

    /// Schedule delays as whole seconds (`[0, 5, 300, …]`).
    public static func scheduleJSON(_ schedule: [TimeInterval]) -> JSONValue {
        .array(schedule.map { .number(String(Int($0))) })
    }
}

/// Several field errors at once (a request body's every mistake).
public struct FieldErrors: Error, Sendable, Hashable {
    public var errors: [FieldError]
    public init(_ errors: [FieldError]) { self.errors = errors }
}
