import Foundation
import HTTPTypes
import MillwrightCore

/// One inbound webhook source as configured (`hooks:` in the YAML file): how its calls are verified and
/// how its payload becomes a canonical event. Secrets are references, resolved when the node starts.
public struct HookSourceConfiguration: Sendable {
    public enum Kind: String, Sendable, CaseIterable {
        /// Standard Webhooks signatures (`webhook-id`, `webhook-timestamp`, `webhook-signature`).
        case standardWebhooks = "standard-webhooks"
        /// A configured header carries a shared secret.
        case sharedSecret = "shared-secret"
        /// No secret: only the network allow-list (required) lets a call in.
        case none
        /// Odoo `base_automation` webhooks: network allow-list (required) and a secret in the URL path.
        case odoo
    }

    /// The `{source}` of `POST /v1/hooks/{source}`: letters, digits, `-`, `_`, `.`; at most 64.
    public var name: String
    public var kind: Kind
    /// The secret (`env:NAME` or `file:PATH`): the `whsec_…` key, the header's value, or the path secret.
    public var secret: SecretReference?
    /// The header that carries the secret (`shared-secret` only).
    public var header: String?
    /// Standard Webhooks: how far `webhook-timestamp` may be from now, and how long a `webhook-id` is remembered.
    public var toleranceSeconds: Int = 300
    /// Networks allowed to call (CIDR). Empty: any. Required for `none` and `odoo`.
    public var allow: [String] = []
    /// Calls of this source processed at once; more are answered 429 with `Retry-After`.
    public var maxConcurrent: Int = 16
    public var mapping = HookMapping()

    public init(name: String, kind: Kind) {
        self.name = name
        self.kind = kind
    }

    public static let namePattern = "^[A-Za-z0-9._-]{1,64}$"

    public static func validName(_ name: String) -> Bool {
        !name.isEmpty && name.utf8.count <= 64
            && name.utf8.allSatisfy { c in
                (c >= 0x61 && c <= 0x7A) || (c >= 0x41 && c <= 0x5A) || (c >= 0x30 && c <= 0x39) || c == 0x2D || c == 0x5F || c == 0x2E
            }
    }
}

/// How a verified payload becomes a canonical event. Templates are text with JSON pointers into the
/// payload in braces: `production-order/{/order}`.
public struct HookMapping: Sendable {
    /// The canonical type of every event of this source (fixed; `odoo` sources always emit
    /// `mw.odoo.record_changed.v1`).
    public var type: String?
    /// The event's `source` attribute. Default `hooks/<name>`.
    public var source: String?
    /// The event's `id`. Default: the `webhook-id` (Standard Webhooks), else a new UUID per call.
    public var id: HookTemplate?
    public var subject: HookTemplate?
    public var time: HookTemplate?
    public var partitionKey: HookTemplate?
    /// The part of the payload that is the event's `data` (a JSON pointer). Default: all of it.
    public var data: String?

    public init() {}
}

/// Text with embedded JSON pointers into a payload: `production-order/{/order}`, `{/id}`.
public struct HookTemplate: Sendable, Hashable, CustomStringConvertible {
    enum Part: Sendable, Hashable {
        case literal(String)
        case pointer(String)
    }

    let parts: [Part]
    public let description: String

    public struct ParseError: Error, Sendable, CustomStringConvertible {
        public var description: String
    }

    public init(_ text: String) throws(ParseError) {
        var parts: [Part] = []
        var rest = Substring(text)
        while let open = rest.firstIndex(of: "{") {
            if open > rest.startIndex { parts.append(.literal(String(rest[..<open]))) }
            guard let close = rest[open...].firstIndex(of: "}") else {
                throw ParseError(description: "'\(text)': a '{' has no closing '}'")
            }
            let pointer = String(rest[rest.index(after: open)..<close])
            guard pointer.hasPrefix("/") else {
                throw ParseError(description: "'\(text)': '{\(pointer)}' must hold a JSON pointer starting with '/', e.g. {/order}")
            }
            parts.append(.pointer(pointer))
            rest = rest[rest.index(after: close)...]
        }
        if !rest.isEmpty { parts.append(.literal(String(rest))) }
        guard !parts.isEmpty else { throw ParseError(description: "a template must not be empty") }
        self.parts = parts
        self.description = text
    }

    /// The text with every pointer replaced by the payload's string or number there.
    public func render(_ payload: JSONValue) throws(HookMappingError) -> String {
        var out = ""
        for part in parts {
            switch part {
            case .literal(let s): out += s
            case .pointer(let p):
                switch HookTemplate.resolve(p, in: payload) {
                case .string(let s)?: out += s
                case .number(let n)?: out += n
                case nil: throw HookMappingError(JSONPointer(rawValue: p), "is required by this hook source's mapping")
                case let other?: throw HookMappingError(JSONPointer(rawValue: p), "must be a string or a number, not \(other.kindDescription)")
                }
            }
        }
        return out
    }

    /// RFC 6901: the value at `pointer` (`""` is the whole document).
    public static func resolve(_ pointer: String, in value: JSONValue) -> JSONValue? {
        if pointer.isEmpty { return value }
        guard pointer.hasPrefix("/") else { return nil }
        var current = value
        for raw in pointer.dropFirst().split(separator: "/", omittingEmptySubsequences: false) {
            let token = String(raw).replacingOccurrences(of: "~1", with: "/").replacingOccurrences(of: "~0", with: "~")
            switch current {
            case .object(let members):
                guard let next = members[token] else { return nil }
                current = next
            case .array(let items):
                guard let index = Int(token), index >= 0, index < items.count, token == String(index) else { return nil }
                current = items[index]
            default:
                return nil
            }
        }
        return current
    }
}

/// A payload that lacks what its source's mapping needs: where in the payload, and what.
public struct HookMappingError: Error, Sendable {
    public var field: FieldError
    public init(_ pointer: JSONPointer, _ detail: String) { field = FieldError(pointer, detail) }
}

/// A configured source with its secrets read: what the hook route works with.
public struct HookSource: Sendable {
    public enum Verification: Sendable {
        case standardWebhooks(StandardWebhooksVerifier)
        case sharedSecret(header: HTTPField.Name, secret: String)
        case none
        case odoo(pathSecret: String)
    }

    public let name: String
    public let verification: Verification
    public let allow: NetworkAllowList
    public let maxConcurrent: Int
    public let mapping: HookMapping

    /// Odoo sources are called at `/v1/hooks/{source}/{secret}`, every other kind at `/v1/hooks/{source}`.
    public var isOdoo: Bool {
        if case .odoo = verification { return true }
        return false
    }

    /// A source's configuration that cannot be used, said with its place (`hooks.odoo-prod.secret: …`).
    public struct ResolutionError: Error, Sendable, CustomStringConvertible {
        public var description: String
    }

    /// Reads the source's secret and checks what the configuration reader cannot (the secret's format).
    public static func resolve(_ c: HookSourceConfiguration, environment: [String: String]) throws(ResolutionError) -> HookSource {
        let place = "hooks.\(c.name)"
        func secret() throws(ResolutionError) -> String {
            guard let reference = c.secret else { throw ResolutionError(description: "\(place).secret is required for kind \(c.kind.rawValue)") }
            do throws(SecretError) {
                return try reference.resolve(environment: environment)
            } catch {
                throw ResolutionError(description: "\(place).secret: \(error)")
            }
        }
        let allow: NetworkAllowList
        do throws(NetworkAllowList.ParseError) { allow = try NetworkAllowList(c.allow) } catch { throw ResolutionError(description: "\(place).allow: \(error)") }
        let verification: Verification
        switch c.kind {
        case .standardWebhooks:
            let key = try secret()
            do throws(StandardWebhooksVerifier.SecretFormatError) {
                verification = .standardWebhooks(try StandardWebhooksVerifier(secret: key, tolerance: TimeInterval(c.toleranceSeconds)))
            } catch {
                throw ResolutionError(description: "\(place).secret (\(c.secret?.description ?? "")): \(error)")
            }
        case .sharedSecret:
            guard let header = c.header.flatMap({ HTTPField.Name($0) }) else {
                throw ResolutionError(description: "\(place).header is required for kind shared-secret: the header that carries the secret")
            }
            verification = .sharedSecret(header: header, secret: try secret())
        case .none:
            guard !allow.isEmpty else { throw ResolutionError(description: "\(place).allow is required for kind none: list the networks that may call") }
            verification = .none
        case .odoo:
            guard !allow.isEmpty else { throw ResolutionError(description: "\(place).allow is required for kind odoo: list the Odoo servers' networks") }
            let s = try secret()
            guard s.utf8.count >= 16, s.utf8.allSatisfy({ c in
                (c >= 0x61 && c <= 0x7A) || (c >= 0x41 && c <= 0x5A) || (c >= 0x30 && c <= 0x39) || c == 0x2D || c == 0x5F
            }) else {
                throw ResolutionError(description: "\(place).secret: a path secret must be at least 16 letters, digits, '-' or '_' (it goes in the URL)")
            }
            verification = .odoo(pathSecret: s)
        }
        return HookSource(name: c.name, verification: verification, allow: allow, maxConcurrent: c.maxConcurrent, mapping: c.mapping)
    }
}
