/// An RFC 6901 JSON pointer, built up one token at a time (`/data/consumed/0/uom`).
public struct JSONPointer: Sendable, Hashable, CustomStringConvertible, ExpressibleByStringLiteral {
    public private(set) var rawValue: String

    public init(rawValue: String) { self.rawValue = rawValue }
    public init(stringLiteral value: String) { self.rawValue = value }

    public static let root = JSONPointer(rawValue: "")

    public func appending(_ key: String) -> JSONPointer {
        let escaped = key.replacingOccurrences("~", with: "~0").replacingOccurrences("/", with: "~1")
        return JSONPointer(rawValue: rawValue + "/" + escaped)
    }

    public func appending(_ index: Int) -> JSONPointer {
        JSONPointer(rawValue: rawValue + "/" + String(index))
    }

    public var description: String { rawValue }
}

extension String {
    /// Foundation-free replacement, so Core stays light.
    func replacingOccurrences(_ target: Character, with replacement: String) -> String {
        guard contains(target) else { return self }
        var out = ""
        for c in self {
            if c == target { out += replacement } else { out.append(c) }
        }
        return out
    }
}

/// One thing wrong with one field: where (a JSON pointer) and what, in words a plant engineer understands.
public struct FieldError: Sendable, Hashable, Codable, CustomStringConvertible {
    public var pointer: String
    public var detail: String

    public init(_ pointer: JSONPointer, _ detail: String) {
        self.pointer = pointer.rawValue
        self.detail = detail
    }

    public var description: String { "\(pointer.isEmpty ? "/" : pointer): \(detail)" }
}
