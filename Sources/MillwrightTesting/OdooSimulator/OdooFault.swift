import MillwrightCore

/// An error as real Odoo 19 reports it: HTTP status, the Python exception's dotted name and its message.
///
/// Every case here was observed on a real Odoo 19 (see `docs/odoo-research.md` §10 and the recordings).
struct OdooFault: Error, Sendable {
    /// The HTTP status JSON-2 answers with (JSON-RPC always answers 200 with an `error` object).
    var status: Int
    /// The exception's dotted name, the body's `name`.
    var name: String
    var message: String
    /// Werkzeug HTTP exceptions carry the status as a second argument.
    var carriesStatusArgument: Bool = false
    /// Extra response headers (`WWW-Authenticate` on 401).
    var headers: [(String, String)] = []

    static func unauthorized(_ message: String) -> OdooFault {
        OdooFault(status: 401, name: "werkzeug.exceptions.Unauthorized", message: message,
                  carriesStatusArgument: true, headers: [("WWW-Authenticate", "Bearer")])
    }

    static func notFound(_ message: String) -> OdooFault {
        OdooFault(status: 404, name: "werkzeug.exceptions.NotFound", message: message, carriesStatusArgument: true)
    }

    static func badRequest(_ message: String) -> OdooFault {
        OdooFault(status: 400, name: "werkzeug.exceptions.BadRequest", message: message, carriesStatusArgument: true)
    }

    static func unprocessable(_ message: String) -> OdooFault {
        OdooFault(status: 422, name: "werkzeug.exceptions.UnprocessableEntity", message: message,
                  carriesStatusArgument: true)
    }

    static func missingRecord(model: String, ids: [Int], uid: Int) -> OdooFault {
        let list = ids.map(String.init).joined(separator: ", ")
        return OdooFault(status: 404, name: "odoo.exceptions.MissingError",
                         message: "Record does not exist or has been deleted.\n(Record: \(model)(\(list),), User: \(uid))")
    }

    static func accessError(_ message: String) -> OdooFault {
        OdooFault(status: 403, name: "odoo.exceptions.AccessError", message: message)
    }

    static func accessDenied() -> OdooFault {
        OdooFault(status: 403, name: "odoo.exceptions.AccessDenied", message: "Access Denied")
    }

    static func userError(_ message: String) -> OdooFault {
        OdooFault(status: 422, name: "odoo.exceptions.UserError", message: message)
    }

    static func validationError(_ message: String) -> OdooFault {
        OdooFault(status: 422, name: "odoo.exceptions.ValidationError", message: message)
    }

    /// A constraint failure, worded as Odoo 19 words SQL constraint errors.
    static func constraint(_ message: String) -> OdooFault {
        validationError("The operation cannot be completed: \(message)")
    }

    static func valueError(_ message: String) -> OdooFault {
        OdooFault(status: 500, name: "builtins.ValueError", message: message)
    }

    static func typeError(_ message: String) -> OdooFault {
        OdooFault(status: 500, name: "builtins.TypeError", message: message)
    }

    static func serializationFailure() -> OdooFault {
        OdooFault(status: 500, name: "psycopg2.errors.SerializationFailure",
                  message: "could not serialize access due to concurrent update\n")
    }

    /// The error's `data` object (JSON-2 body, JSON-RPC `error.data`).
    var body: JSONValue {
        var arguments: [JSONValue] = [.string(message)]
        if carriesStatusArgument { arguments.append(.number(String(status))) }
        let shortName = name.split(separator: ".").last.map(String.init) ?? name
        let lastLine: String
        if carriesStatusArgument {
            lastLine = "\(name): \(status) \(OdooHTTPStatus.reason(status)): \(message)"
        } else {
            let pythonName = name.hasPrefix("builtins.") ? shortName : name
            let last = message.split(separator: "\n", omittingEmptySubsequences: true).last.map(String.init) ?? ""
            lastLine = message.contains("\n") ? last : "\(pythonName): \(message)"
        }
        return .object([
            "name": .string(name),
            "message": .string(message),
            "arguments": .array(arguments),
            "context": .object([:]),
            "debug": .string("Traceback (most recent call last):\n  File \"odoo/http.py\", in dispatch (simulated)\n\(lastLine)"),
        ])
    }
}

enum OdooHTTPStatus {
    static func reason(_ status: Int) -> String {
        switch status {
        case 200: "OK"
        case 400: "Bad Request"
        case 401: "Unauthorized"
        case 403: "Forbidden"
        case 404: "Not Found"
        case 409: "Conflict"
        case 415: "Unsupported Media Type"
        case 422: "Unprocessable Entity"
        case 500: "Internal Server Error"
        case 503: "Service Unavailable"
        default: "Unknown"
        }
    }
}
