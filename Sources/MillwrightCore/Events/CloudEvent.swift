import Foundation

/// A CloudEvents 1.0 envelope as Millwright stores it: validated, with `data` checked against its canonical type.
///
/// ```swift
/// let event = try EventDecoder(catalogue: .v1).decode(json)
/// print(event.type, event.partitionKey ?? "-")
/// ```
public struct CloudEvent: Sendable, Hashable {
    public var id: String
    public var source: String
    public var type: String
    public var subject: String?
    /// The `time` attribute as sent (RFC 3339).
    public var time: String?
    public var data: JSONValue?
    /// Every other attribute: `partitionkey`, `sequence`, `correlationid`, `dataschema`, … as sent.
    public var attributes: [String: JSONValue]

    public var partitionKey: String? { attributes["partitionkey"]?.stringValue }
    public var sequence: String? { attributes["sequence"]?.stringValue }

    /// The envelope as JSON, in canonical form.
    public var json: JSONValue {
        var members = attributes
        members["specversion"] = "1.0"
        members["id"] = .string(id)
        members["source"] = .string(source)
        members["type"] = .string(type)
        if let subject { members["subject"] = .string(subject) }
        if let time { members["time"] = .string(time) }
        if let data { members["data"] = data }
        return .object(members)
    }
}

/// Why an event was not accepted: every field error, with its JSON pointer.
public struct EventRejection: Error, Sendable, Equatable {
    public enum Kind: String, Sendable {
        /// The envelope is not a valid CloudEvent (missing `id`, wrong `specversion`, …).
        case invalidEnvelope
        /// `type` names no type of the catalogue.
        case unknownType
        /// `data` does not satisfy its canonical type.
        case invalidData
    }

    public var kind: Kind
    public var errors: [FieldError]

    public init(kind: Kind, errors: [FieldError]) {
        self.kind = kind
        self.errors = errors
    }
}

/// An event ready to append: validated, canonical, with its business keys extracted.
public struct NewEvent: Sendable {
    public var event: CloudEvent
    /// Canonical JSON text of the envelope: what is stored and what "same content" compares.
    public var canonicalText: String
    public var keys: Set<BusinessKey>
    /// The parsed `time` attribute, if any.
    public var occurredAt: Date?

    public init(event: CloudEvent, keys: Set<BusinessKey>) {
        self.event = event
        self.canonicalText = event.json.canonicalText
        self.keys = keys
        self.occurredAt = event.time.flatMap(RFC3339.parse)
    }
}

/// Turns JSON into validated ``NewEvent``s against a ``Catalogue``.
public struct EventDecoder: Sendable {
    public let catalogue: Catalogue

    /// CloudEvents attribute names: lower-case ASCII letters and digits, at most 20.
    static func isAttributeName(_ name: String) -> Bool {
        !name.isEmpty && name.utf8.count <= 20
            && name.utf8.allSatisfy { ($0 >= 0x61 && $0 <= 0x7A) || ($0 >= 0x30 && $0 <= 0x39) }
    }

    public init(catalogue: Catalogue = .v1) {
        self.catalogue = catalogue
    }

    /// Validates a structured-mode envelope.
    /// - Throws: ``EventRejection`` listing every problem found.
    public func decode(_ json: JSONValue) throws(EventRejection) -> NewEvent {
        guard case .object(var members) = json else {
            throw EventRejection(kind: .invalidEnvelope, errors: [FieldError(.root, "an event must be a JSON object, not \(json.kindDescription)")])
        }
        var errors: [FieldError] = []

        func requiredString(_ name: String, maxLength: Int, hint: String) -> String {
            let pointer = JSONPointer.root.appending(name)
            switch members.removeValue(forKey: name) {
            case nil, .some(.null):
                errors.append(FieldError(pointer, "is required: \(hint)"))
            case .some(.string(let s)):
                if s.isEmpty { errors.append(FieldError(pointer, "must not be empty")) }
                else if s.unicodeScalars.count > maxLength { errors.append(FieldError(pointer, "is longer than \(maxLength) characters")) }
                else { return s }
            case .some(let other):
                errors.append(FieldError(pointer, "must be a string, not \(other.kindDescription)"))
            }
            return ""
        }
        func optionalString(_ name: String) -> String? {
            switch members.removeValue(forKey: name) {
            case nil, .some(.null): return nil
            case .some(.string(let s)): return s
            case .some(let other):
                errors.append(FieldError(JSONPointer.root.appending(name), "must be a string, not \(other.kindDescription)"))
                return nil
            }
        }

        let specversion = requiredString("specversion", maxLength: 8, hint: "use \"1.0\"")
        if !specversion.isEmpty && specversion != "1.0" {
            errors.append(FieldError(JSONPointer.root.appending("specversion"), "must be \"1.0\" (CloudEvents 1.0), not \"\(specversion.prefix(8))\""))
        }
        let id = requiredString("id", maxLength: 256, hint: "a unique id within the source, e.g. mes-7781-000123")
        let source = requiredString("source", maxLength: 512, hint: "the sending system, e.g. mes/plant-1")
        let type = requiredString("type", maxLength: 128, hint: "a canonical type such as mfg.production.completed.v1")
        let subject = optionalString("subject")
        let time = optionalString("time")
        if let time, RFC3339.parse(time) == nil {
            errors.append(FieldError(JSONPointer.root.appending("time"), "'\(time.prefix(40))' is not an RFC 3339 time with offset, such as 2026-11-22T10:15:00Z"))
        }
        if let contentType = optionalString("datacontenttype"), !Self.isJSONMediaType(contentType) {
            errors.append(FieldError(JSONPointer.root.appending("datacontenttype"), "must be application/json: canonical events carry JSON data"))
        }
        if members.removeValue(forKey: "data_base64") != nil {
            errors.append(FieldError(JSONPointer.root.appending("data_base64"), "is not accepted: canonical events carry JSON data in 'data'"))
        }
        let data = members.removeValue(forKey: "data")

        // Extension attributes: CloudEvents names, primitive values.
        var attributes: [String: JSONValue] = ["datacontenttype": "application/json"]
        for (name, value) in members.sorted(by: { $0.key < $1.key }) {
            let pointer = JSONPointer.root.appending(name)
            guard Self.isAttributeName(name) else {
                errors.append(FieldError(pointer, "is not a valid CloudEvents attribute name (lower-case letters and digits, at most 20)"))
                continue
            }
            switch (name, value) {
            case (_, .null):
                continue
            case ("partitionkey", .string(let s)) where s.isEmpty:
                errors.append(FieldError(pointer, "must not be empty"))
            case ("sequence", .number(let n)):
                // Accept an integer sequence and keep it in the extension's string form.
                if n.count <= 18, let i = UInt64(n), String(i) == n { attributes[name] = .string(n) }
                else { errors.append(FieldError(pointer, "must be a non-negative whole number, as a string (\"17\")")) }
            case ("sequence", .string(let s)):
                if s.isEmpty || s.count > 18 || !s.allSatisfy(\.isASCII) || !s.allSatisfy(\.isNumber) {
                    errors.append(FieldError(pointer, "must be a non-negative whole number as a string, e.g. \"17\""))
                } else {
                    attributes[name] = value
                }
            case ("partitionkey", .string), ("correlationid", .string), ("causationid", .string),
                ("traceparent", .string), ("tracestate", .string), ("dataschema", .string):
                attributes[name] = value
            case ("partitionkey", _), ("correlationid", _), ("causationid", _), ("traceparent", _),
                ("tracestate", _), ("dataschema", _):
                errors.append(FieldError(pointer, "must be a string, not \(value.kindDescription)"))
            case (_, .string), (_, .number), (_, .bool):
                attributes[name] = value
            default:
                errors.append(FieldError(pointer, "extension attributes must be a string, number or boolean, not \(value.kindDescription)"))
            }
        }

        if !errors.isEmpty { throw EventRejection(kind: .invalidEnvelope, errors: errors) }

        guard let spec = catalogue.spec(type) else {
            throw EventRejection(kind: .unknownType, errors: [
                FieldError(JSONPointer.root.appending("type"), "unknown event type '\(type.prefix(128))': GET /v1/schemas lists the accepted types")
            ])
        }
        let dataErrors = spec.validate(data: data, units: catalogue.units)
        if !dataErrors.isEmpty { throw EventRejection(kind: .invalidData, errors: dataErrors) }

        let event = CloudEvent(id: id, source: source, type: type, subject: subject, time: time, data: data, attributes: attributes)
        return NewEvent(event: event, keys: spec.businessKeys(in: data))
    }

    /// Builds the envelope of a binary-mode HTTP message (`ce-*` headers, the body is `data`), then validates it.
    ///
    /// - Parameters:
    ///   - headers: header names (any case) and values, as received.
    ///   - data: the parsed body.
    public func decodeBinary(headers: [(name: String, value: String)], data: JSONValue) throws(EventRejection) -> NewEvent {
        var members: [String: JSONValue] = ["data": data]
        for (name, value) in headers {
            let lower = name.lowercased()
            guard lower.hasPrefix("ce-") else { continue }
            let attribute = String(lower.dropFirst(3))
            // In binary mode the body is the data: a ce-data header cannot replace it.
            if attribute == "data" || attribute == "data_base64" { continue }
            members[attribute] = .string(Self.percentDecoded(value))
        }
        return try decode(.object(members))
    }

    /// `application/json`, `application/cloudevents+json`, `text/json`, any `+json`, with parameters.
    public static func isJSONMediaType(_ value: String) -> Bool {
        let essence = value.split(separator: ";", maxSplits: 1).first.map {
            $0.trimmingCharacters(in: .whitespaces).lowercased()
        } ?? ""
        return essence == "application/json" || essence == "text/json" || essence.hasSuffix("+json")
    }

    /// CloudEvents HTTP binding: header values are percent-encoded UTF-8.
    static func percentDecoded(_ value: String) -> String {
        guard value.contains("%") else { return value }
        return value.removingPercentEncoding ?? value
    }
}
