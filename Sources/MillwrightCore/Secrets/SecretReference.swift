import Foundation

/// Where a secret lives. Configuration never holds a secret itself, only a reference to it:
/// `env:NAME` (an environment variable) or `file:/path` (the file's content, trailing newline removed).
/// A reference prints as itself, never as the secret.
public enum SecretReference: Sendable, Hashable, CustomStringConvertible {
    case environment(String)
    case file(String)

    /// Parses `env:NAME` or `file:PATH`. Anything else is refused with a message that says how to write it.
    public init(parsing text: String) throws(SecretError) {
        if text.hasPrefix("env:") {
            let name = String(text.dropFirst(4))
            guard !name.isEmpty, name.allSatisfy({ $0 == "_" || $0.isASCII && ($0.isLetter || $0.isNumber) }) else {
                throw SecretError("'\(text)': expected env:NAME with a variable name of letters, digits and '_'")
            }
            self = .environment(name)
        } else if text.hasPrefix("file:") {
            let path = String(text.dropFirst(5))
            guard !path.isEmpty else { throw SecretError("'file:' needs a path, e.g. file:/run/secrets/odoo-key") }
            self = .file(path)
        } else {
            throw SecretError("secrets are given by reference only: write env:NAME or file:/path, not the secret itself")
        }
    }

    public var description: String {
        switch self {
        case .environment(let name): "env:\(name)"
        case .file(let path): "file:\(path)"
        }
    }

    /// Reads the secret now. Empty secrets are errors: a missing value must not become an empty password.
    public func resolve(environment: [String: String] = ProcessInfo.processInfo.environment) throws(SecretError) -> String {
        let value: String
        switch self {
        case .environment(let name):
            guard let v = environment[name] else { throw SecretError("\(self): the environment variable \(name) is not set") }
            value = v
        case .file(let path):
            guard let data = FileManager.default.contents(atPath: path) else {
                throw SecretError("\(self): the file cannot be read")
            }
            guard let text = String(data: data, encoding: .utf8) else { throw SecretError("\(self): the file is not UTF-8 text") }
            value = text.hasSuffix("\r\n") ? String(text.dropLast(2)) : text.hasSuffix("\n") ? String(text.dropLast()) : text
        }
        guard !value.isEmpty else { throw SecretError("\(self): the secret is empty") }
        return value
    }
}

public struct SecretError: Error, Sendable, CustomStringConvertible {
    public var description: String
    public init(_ description: String) { self.description = description }
}
