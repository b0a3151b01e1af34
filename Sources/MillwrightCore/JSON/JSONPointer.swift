import Foundation

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

extension JSONPointer {
    /// The reference tokens (RFC 6901), unescaped; `nil` when the text is not a pointer.
    public var tokens: [String]? {
        if rawValue.isEmpty { return [] }
        guard rawValue.hasPrefix("/") else { return nil }
        return rawValue.dropFirst().split(separator: "/", omittingEmptySubsequences: false).map {
            $0.replacingOccurrences(of: "~1", with: "/").replacingOccurrences(of: "~0", with: "~")
        }
    }

    /// The value this pointer designates in `document`, or `nil`.
    public func resolve(in document: JSONValue) -> JSONValue? {
        guard let tokens else { return nil }
        var current = document
        for token in tokens {
            switch current {
            case .object(let members):
                guard let next = members[token] else { return nil }
                current = next
            case .array(let items):
                guard let index = Int(token), items.indices.contains(index) else { return nil }
                current = items[index]
            default:
                return nil
            }
        }
        return current
    }
}
