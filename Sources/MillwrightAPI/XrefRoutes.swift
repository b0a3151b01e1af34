import Foundation
import Hummingbird
import MillwrightCore

/// `/v1/xrefs`: the cross-reference tables the `xref` flow step reads. Loadable as JSON or CSV
/// (`system,kind,external_id,value`, with a header line); every change is audited.
struct XrefRoutes {
    let xrefs: any CrossReferenceStore
    let governance: Governance
    let maxBodyBytes: Int

    func register(on group: RouterGroup<MillwrightRequestContext>) {
        group.get("xrefs") { request, context in
            try context.require("flows:read")
            var system: String?
            var kind: String?
            var limit = 1000
            for (name, value) in request.uri.queryParameters {
                switch String(name) {
                case "system": system = String(value)
                case "kind": kind = String(value)
                case "limit":
                    limit = try GovernanceRoutes.pageLimit(String(value), max: 10_000)
                default: throw GovernanceRoutes.badQuery(String(name), "unknown query parameter; accepted: system, kind, limit")
                }
            }
            let items = try await xrefs.xrefs(system: system, kind: kind, limit: limit)
            return GovernanceRoutes.json(.object(["items": .array(items.map(Self.json))]))
        }
        group.put("xrefs") { request, context in
            try context.require("xrefs:write")
            let body: ByteBuffer
            do { body = try await request.body.collect(upTo: maxBodyBytes) } catch { throw EventRoutes.tooLarge(maxBodyBytes) }
            let type = request.headers[.contentType]?.lowercased() ?? ""
            let entries: [CrossReference]
            if type.hasPrefix("text/csv") {
                entries = try Self.csv(String(buffer: body))
            } else if type.hasPrefix("application/json") {
                let json: JSONValue
                do { json = try JSONParser().parse(body.readableBytesView) } catch let error as JSONSyntaxError { throw Problem.syntax(error) }
                entries = try Self.entries(json)
            } else {
                throw EventRoutes.unsupported("send the cross-references as application/json (a list of {system, kind, external_id, value}) or text/csv (system,kind,external_id,value)")
            }
            try await xrefs.putXrefs(entries)
            let sample = entries.prefix(20).map(Self.json)
            try await governance.audit("xref.put", target: "xrefs", by: context.actor, after: .object(["count": .number(String(entries.count)), "first": .array(Array(sample))]))
            return GovernanceRoutes.json(.object(["stored": .number(String(entries.count))]))
        }
        group.delete("xrefs/{system}/{kind}/{id}") { _, context in
            try context.require("xrefs:write")
            let system = context.parameters.get("system") ?? ""
            let kind = context.parameters.get("kind") ?? ""
            let id = context.parameters.get("id") ?? ""
            guard try await xrefs.deleteXref(system: system, kind: kind, externalID: id) else {
                throw Problem(.notFound, code: ProblemCode.notFound, title: "Not found", detail: "no cross-reference \(system) \(kind) '\(id)'")
            }
            try await governance.audit("xref.delete", target: "xref/\(system)/\(kind)/\(id)", by: context.actor)
            return GovernanceRoutes.json(.object(["deleted": true]))
        }
    }

    static func json(_ x: CrossReference) -> JSONValue {
        .object(["system": .string(x.system), "kind": .string(x.kind), "external_id": .string(x.externalID), "value": .string(x.value)])
    }

    static func entries(_ json: JSONValue) throws -> [CrossReference] {
        guard let items = json.arrayValue else { throw GovernanceRoutes.invalid([FieldError(.root, "must be a list of {system, kind, external_id, value}")]) }
        var errors: [FieldError] = []
        var result: [CrossReference] = []
        for (index, item) in items.enumerated() {
            var fields: [String] = []
            for name in ["system", "kind", "external_id", "value"] {
                if let text = item[name]?.stringValue, !text.isEmpty { fields.append(text) } else {
                    errors.append(FieldError(JSONPointer.root.appending(index).appending(name), "is required: non-empty text"))
                }
            }
            if fields.count == 4 { result.append(CrossReference(system: fields[0], kind: fields[1], externalID: fields[2], value: fields[3])) }
        }
        guard errors.isEmpty else { throw GovernanceRoutes.invalid(errors) }
        return result
    }

    /// RFC 4180 CSV: a header `system,kind,external_id,value`, then one cross-reference a line; fields may be
    /// quoted (`"a,b"`, `""` for a quote). Errors name the line (`/line/3`).
    static func csv(_ text: String) throws -> [CrossReference] {
        let rows = parseCSV(text)
        guard let header = rows.first?.fields.map({ $0.trimmingCharacters(in: .whitespaces).lowercased() }),
            header == ["system", "kind", "external_id", "value"]
        else {
            throw GovernanceRoutes.invalid([FieldError(JSONPointer.root.appending("line").appending(1), "the first line must be the header system,kind,external_id,value")])
        }
        var errors: [FieldError] = []
        var result: [CrossReference] = []
        for row in rows.dropFirst() where !(row.fields.count == 1 && row.fields[0].isEmpty) {
            guard row.fields.count == 4, row.fields.allSatisfy({ !$0.isEmpty }) else {
                errors.append(FieldError(JSONPointer.root.appending("line").appending(row.line), "expected 4 non-empty fields: system,kind,external_id,value"))
                continue
            }
            result.append(CrossReference(system: row.fields[0], kind: row.fields[1], externalID: row.fields[2], value: row.fields[3]))
        }
        guard errors.isEmpty else { throw GovernanceRoutes.invalid(errors) }
        return result
    }

    static func parseCSV(_ text: String) -> [(line: Int, fields: [String])] {
        var rows: [(line: Int, fields: [String])] = []
        var fields: [String] = []
        var field = ""
        var quoted = false
        var line = 1
        var rowLine = 1
        var chars = Array(text.unicodeScalars)[...]
        while let c = chars.popFirst() {
            if quoted {
                if c == "\"" {
                    if chars.first == "\"" { chars.removeFirst(); field.unicodeScalars.append("\"") } else { quoted = false }
                } else {
                    if c == "\n" { line += 1 }
                    field.unicodeScalars.append(c)
                }
                continue
            }
            switch c {
            case "\"": quoted = true
            case ",": fields.append(field); field = ""
            case "\r": continue
            case "\n":
                fields.append(field)
                rows.append((rowLine, fields))
                fields = []
                field = ""
                line += 1
                rowLine = line
            default: field.unicodeScalars.append(c)
            }
        }
        if !field.isEmpty || !fields.isEmpty { fields.append(field); rows.append((rowLine, fields)) }
        return rows
    }
}
