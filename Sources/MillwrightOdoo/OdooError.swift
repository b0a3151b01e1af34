import Foundation
import MillwrightCore

/// Everything that can go wrong when talking to Odoo, in one type.
///
/// Both protocols' error payloads (JSON-2: a JSON body with an HTTP status; JSON-RPC: HTTP 200 with an
/// `error` object) and transport failures end up here, with a stable code, a *retryable* flag, and a
/// message that tells an operator what to do. The shapes are the ones recorded from real Odoo 19
/// (`docs/odoo-research.md` §10).
public struct OdooError: Error, Sendable, CustomStringConvertible {
    public enum Kind: String, Sendable, CaseIterable {
        /// Wrong or expired API key, unknown login (401, JSON-RPC `AccessDenied`).
        case authentication
        /// The user lacks an access right or record rule (403 `AccessError`).
        case accessDenied
        /// Odoo refused the data: constraint, required field, uniqueness (422 `ValidationError`, ...).
        case validation
        /// A business rule refused the action (422 `UserError`).
        case userError
        /// A record id that does not exist (404 `MissingError`).
        case missingRecord
        /// The model or method does not exist, or is private (404 / 403 on `_private`).
        case unknownMethod
        /// The call was malformed: bad field, wrong type, bad argument (400, 422 werkzeug, 500 ValueError/TypeError).
        case badRequest
        /// A concurrent transaction won: serialization failure or lock (500 psycopg2 / 409 LockError). Retry.
        case conflict
        /// Odoo answered 5xx for another reason.
        case server
        /// No answer in time. The call may or may not have been applied.
        case timeout
        /// The connection was refused, reset or closed before an answer.
        case connection
        /// 429/503 from Odoo or a proxy in front of it; `retryAfter` says when to come back.
        case overloaded
        /// The database named in the configuration does not exist on that server.
        case unknownDatabase
        /// Odoo answered something this client does not understand.
        case unexpectedAnswer
        /// A canonical reference (product code, order name, lot, location, equipment) has no record in Odoo.
        case notFound
        /// Odoo's data does not allow the operation (ambiguous reference, wrong tracking, unit dimension mismatch).
        case dataProblem
        /// Odoo wants a decision this operation cannot take (a wizard answered instead of a result).
        case needsDecision
    }

    public var kind: Kind
    public var message: String
    /// Odoo's exception class (`odoo.exceptions.AccessError`), when Odoo sent one.
    public var odooName: String?
    public var httpStatus: Int?
    /// `model/method` of the call that failed, when there was one.
    public var call: String?
    /// Seconds to wait before retrying, from `Retry-After`.
    public var retryAfter: Int?

    public init(_ kind: Kind, _ message: String, odooName: String? = nil, httpStatus: Int? = nil, call: String? = nil, retryAfter: Int? = nil) {
        self.kind = kind
        self.message = message
        self.odooName = odooName
        self.httpStatus = httpStatus
        self.call = call
        self.retryAfter = retryAfter
    }

    /// A stable code for logs, dead letters and problem documents.
    public var code: String {
        switch kind {
        case .authentication: "MW-ODOO-0001"
        case .accessDenied: "MW-ODOO-0002"
        case .validation: "MW-ODOO-0003"
        case .userError: "MW-ODOO-0004"
        case .missingRecord: "MW-ODOO-0005"
        case .unknownMethod: "MW-ODOO-0006"
        case .badRequest: "MW-ODOO-0007"
        case .conflict: "MW-ODOO-0008"
        case .server: "MW-ODOO-0009"
        case .timeout: "MW-ODOO-0010"
        case .connection: "MW-ODOO-0011"
        case .overloaded: "MW-ODOO-0012"
        case .unknownDatabase: "MW-ODOO-0013"
        case .unexpectedAnswer: "MW-ODOO-0014"
        case .notFound: "MW-ODOO-0015"
        case .dataProblem: "MW-ODOO-0016"
        case .needsDecision: "MW-ODOO-0017"
        }
    }

    /// Whether the same call may succeed later without anyone changing anything.
    ///
    /// Timeouts and dropped connections are retryable, but the call may have been applied: operations
    /// re-read state before they repeat a non-idempotent call.
    public var retryable: Bool {
        switch kind {
        case .conflict, .server, .timeout, .connection, .overloaded: true
        case .authentication, .accessDenied, .validation, .userError, .missingRecord, .unknownMethod,
            .badRequest, .unknownDatabase, .unexpectedAnswer, .notFound, .dataProblem, .needsDecision:
            false
        }
    }

    public var description: String {
        var text = "\(code) \(kind.rawValue): \(message)"
        if let call { text += " [\(call)]" }
        return text
    }
}

extension OdooError {
    /// Odoo's `{"name","message","arguments","context","debug"}` body (JSON-2, and `error.data` in JSON-RPC)
    /// read into an error. `debug` holds a full traceback: it is never copied into the message.
    static func fromOdooPayload(_ payload: JSONValue, httpStatus: Int?, call: String?, login: String?) -> OdooError {
        let name = payload["name"]?.stringValue ?? ""
        let raw = payload["message"]?.stringValue ?? "Odoo answered an error without a message"
        let message = raw.trimmingCharacters(in: .whitespacesAndNewlines)
        func make(_ kind: Kind, _ text: String) -> OdooError {
            OdooError(kind, text, odooName: name.isEmpty ? nil : name, httpStatus: httpStatus, call: call)
        }
        switch name {
        case "werkzeug.exceptions.Unauthorized", "odoo.exceptions.AccessDenied":
            return make(.authentication, "Odoo refused the credentials (\(message)): check odoo.login and odoo.api_key; API keys expire and are per user and database")
        case "odoo.exceptions.AccessError":
            if message.hasPrefix("Private methods") { return make(.unknownMethod, message) }
            return make(.accessDenied, accessAdvice(message, login: login))
        case "odoo.exceptions.MissingError":
            return make(.missingRecord, firstLine(message) + " (the record was deleted in Odoo, or an id is stale)")
        case "odoo.exceptions.ValidationError":
            return make(.validation, message)
        case "odoo.exceptions.UserError", "odoo.exceptions.RedirectWarning":
            // JSON-RPC reports an unknown model as a UserError ("Object x doesn't exist").
            if message.hasPrefix("Object "), message.hasSuffix(" doesn't exist") { return make(.unknownMethod, message) }
            return make(.userError, message)
        case "werkzeug.exceptions.NotFound":
            return make(.unknownMethod, message)
        case "werkzeug.exceptions.BadRequest", "werkzeug.exceptions.UnprocessableEntity", "builtins.ValueError",
            "builtins.TypeError", "builtins.KeyError":
            return make(.badRequest, message)
        case "odoo.exceptions.LockError", "odoo.exceptions.ConcurrencyError":
            return make(.conflict, message + " (another transaction holds the records; retried with backoff)")
        default:
            if name.hasPrefix("psycopg2.errors.SerializationFailure") || name.hasPrefix("psycopg2.errors.LockNotAvailable")
                || name.hasPrefix("psycopg2.errors.DeadlockDetected") || name.hasPrefix("psycopg2.extensions.TransactionRollbackError")
            {
                return make(.conflict, firstLine(message) + " (a concurrent update in Odoo; retried with backoff)")
            }
            if let status = httpStatus {
                switch status {
                case 401: return make(.authentication, message)
                case 403: return make(.accessDenied, accessAdvice(message, login: login))
                case 404: return make(.unknownMethod, message)
                case 409: return make(.conflict, message)
                case 400, 422: return make(.badRequest, message)
                default: break
                }
            }
            return make(.server, "Odoo failed with \(name.isEmpty ? "an error" : name): \(firstLine(message))")
        }
    }

    /// "You are not allowed to modify 'Product Variant' (product.product) records. …groups…" becomes
    /// "user 'mes-bridge' lacks write access on product.product; grant one of the groups: …".
    static func accessAdvice(_ message: String, login: String?) -> String {
        let who = login.map { "user '\($0)'" } ?? "the Odoo user"
        let verbs: [(String, String)] = [
            ("not allowed to access", "read"), ("not allowed to modify", "write"),
            ("not allowed to create", "create"), ("not allowed to delete", "delete"),
        ]
        guard let (_, right) = verbs.first(where: { message.contains($0.0) }),
            let open = message.firstIndex(of: "("), let close = message[open...].firstIndex(of: ")")
        else { return "\(who) is not allowed to do this in Odoo: \(message)" }
        let model = message[message.index(after: open)..<close]
        var groups: [String] = []
        for line in message.split(separator: "\n") where line.hasPrefix("\t- ") {
            groups.append(String(line.dropFirst(3)))
        }
        var text = "\(who) lacks \(right) access on \(model)"
        if !groups.isEmpty {
            text += "; in Odoo, add the user to one of the groups: " + groups.joined(separator: ", ")
        } else if message.contains("No group currently allows") {
            text += "; no Odoo group allows this operation"
        }
        return text
    }

    static func firstLine(_ text: String) -> String {
        String(text.split(separator: "\n", maxSplits: 1).first ?? Substring(text))
    }
}
