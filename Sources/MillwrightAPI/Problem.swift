import Foundation
import Hummingbird
import Logging
import MillwrightCore

/// An RFC 9457 problem: every API error is answered with one, as `application/problem+json`.
///
/// ```swift
/// throw Problem(.unprocessableContent, code: "MW-API-0422", title: "Invalid event", errors: fieldErrors)
/// ```
public struct Problem: Error, Sendable {
    public var status: HTTPResponse.Status
    /// Stable code, e.g. `MW-API-0003`; part of the API contract.
    public var code: String
    public var title: String
    public var detail: String?
    public var errors: [FieldError]
    /// Extra members (`line`, `column`, `existing_seq`, …).
    public var extensions: [String: JSONValue]
    public var headers: HTTPFields

    public init(
        _ status: HTTPResponse.Status,
        code: String,
        title: String,
        detail: String? = nil,
        errors: [FieldError] = [],
        extensions: [String: JSONValue] = [:],
        headers: HTTPFields = [:]
    ) {
        self.status = status
        self.code = code
        self.title = title
        self.detail = detail
        self.errors = errors
        self.extensions = extensions
        self.headers = headers
    }

    /// The problem document.
    public var json: JSONValue {
        var members = extensions
        members["type"] = .string("urn:millwright:problem:\(code)")
        members["title"] = .string(title)
        members["status"] = .number(String(status.code))
        members["code"] = .string(code)
        if let detail { members["detail"] = .string(detail) }
        if !errors.isEmpty {
            members["errors"] = .array(errors.map { .object(["pointer": .string($0.pointer), "detail": .string($0.detail)]) })
        }
        return .object(members)
    }

    public func response() -> Response {
        var headers = self.headers
        headers[.contentType] = "application/problem+json"
        return Response(status: status, headers: headers, body: .init(byteBuffer: ByteBuffer(string: json.canonicalText)))
    }
}

/// Stable problem codes of the HTTP API.
public enum ProblemCode {
    public static let malformedJSON = "MW-API-0001"
    public static let unsupportedMediaType = "MW-API-0002"
    public static let bodyTooLarge = "MW-API-0003"
    public static let invalidEnvelope = "MW-API-0004"
    public static let unknownType = "MW-API-0005"
    public static let invalidData = "MW-API-0006"
    public static let conflict = "MW-API-0007"
    public static let unauthorized = "MW-API-0008"
    public static let forbidden = "MW-API-0009"
    public static let notFound = "MW-API-0010"
    public static let badQuery = "MW-API-0011"
    public static let batchTooLarge = "MW-API-0012"
    public static let unavailable = "MW-API-0013"
    public static let internalError = "MW-API-0014"
    /// Any other request the HTTP layer refused.
    public static let badRequest = "MW-API-0015"
    /// A management request (service accounts, tokens) whose body is invalid.
    public static let invalidRequest = "MW-API-0016"
    /// An inbound webhook whose signature, timestamp or secret did not verify (401).
    public static let webhookUnverified = "MW-API-0017"
    /// An inbound Standard Webhooks message whose `webhook-id` was already received inside the window (409).
    public static let webhookReplayed = "MW-API-0018"
    /// A hook call from an address outside the source's allow-list (403).
    public static let addressNotAllowed = "MW-API-0019"
    /// Over a rate or concurrency limit (429, with `Retry-After`).
    public static let tooManyRequests = "MW-API-0020"
    /// An approval attempted by the service account that requested the action (403).
    public static let approvalBySameAccount = "MW-API-0021"
}

extension Problem {
    static func rejection(_ rejection: EventRejection) -> Problem {
        switch rejection.kind {
        case .invalidEnvelope:
            Problem(.unprocessableContent, code: ProblemCode.invalidEnvelope, title: "Invalid CloudEvent envelope",
                    detail: "The event is not a valid CloudEvents 1.0 envelope: \(rejection.errors.count) problem(s), listed in errors.",
                    errors: rejection.errors)
        case .unknownType:
            Problem(.unprocessableContent, code: ProblemCode.unknownType, title: "Unknown event type",
                    detail: rejection.errors.first?.detail, errors: rejection.errors)
        case .invalidData:
            Problem(.unprocessableContent, code: ProblemCode.invalidData, title: "Invalid event data",
                    detail: "The event's data does not match its canonical type: \(rejection.errors.count) problem(s), listed in errors.",
                    errors: rejection.errors)
        }
    }

    static func syntax(_ error: JSONSyntaxError) -> Problem {
        Problem(.badRequest, code: ProblemCode.malformedJSON, title: error.reason == .invalidUTF8 ? "Invalid UTF-8" : "Malformed JSON",
                detail: "The body could not be read as JSON: \(error.description).",
                extensions: ["line": .number(String(error.line)), "column": .number(String(error.column))])
    }
}

/// Turns every error into a problem response, so no client ever sees a bare error or an internal message.
struct ProblemMiddleware<Context: RequestContext>: RouterMiddleware {
    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        do {
            return try await next(request, context)
        } catch let problem as Problem {
            return problem.response()
        } catch let error as any HTTPResponseError {
            let status = error.status
            let code: String
            let title: String
            switch status {
            case .notFound: (code, title) = (ProblemCode.notFound, "Not found")
            case .contentTooLarge: (code, title) = (ProblemCode.bodyTooLarge, "Body too large")
            case .unauthorized: (code, title) = (ProblemCode.unauthorized, "Unauthorized")
            default: (code, title) = (status.code >= 500 ? ProblemCode.internalError : ProblemCode.badRequest, status.reasonPhrase)
            }
            let detail = status == .notFound ? "No route for \(request.method) \(request.uri.path)." : nil
            return Problem(status, code: code, title: title, detail: detail).response()
        } catch {
            context.logger.error("request failed", metadata: ["mw.error": "\(error)"])
            return Problem(.internalServerError, code: ProblemCode.internalError, title: "Internal error",
                           detail: "Millwright could not complete the request; the server log has the cause.").response()
        }
    }
}
