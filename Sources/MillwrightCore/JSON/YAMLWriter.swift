/// Writes a ``JSONValue`` as block-style YAML (for `/openapi.yaml`). Strings are double-quoted with JSON
/// escapes, which YAML reads the same way, so no value can change meaning.
public enum YAMLWriter {
    public static func write(_ value: JSONValue) -> String {
        var out = ""
        emit(value, indent: 0, into: &out, inline: false)
        if !out.hasSuffix("\n") { out += "\n" }
        return out
    }

    static func scalar(_ value: JSONValue) -> String? {
        switch value {
        case .null: "null"
        case .bool(let b): b ? "true" : "false"
        case .number(let n): n
        case .string(let s): JSONValue.string(s).canonicalText
        case .array(let a) where a.isEmpty: "[]"
        case .object(let o) where o.isEmpty: "{}"
        default: nil
        }
    }

    static func key(_ k: String) -> String {
        let plain = !k.isEmpty && k.utf8.allSatisfy { c in
            (c >= 0x61 && c <= 0x7A) || (c >= 0x41 && c <= 0x5A) || (c >= 0x30 && c <= 0x39) || c == 0x5F || c == 0x2E || c == 0x2D
        } && !["true", "false", "null", "yes", "no", "on", "off", "y", "n"].contains(k.lowercased())
            && !(k.first?.isNumber ?? false)
        return plain ? k : JSONValue.string(k).canonicalText
    }

    static func emit(_ value: JSONValue, indent: Int, into out: inout String, inline: Bool) {
        let pad = String(repeating: "  ", count: indent)
        switch value {
        case .object(let members) where !members.isEmpty:
            var first = true
            for (k, v) in members.sorted(by: { order($0.key, $1.key) }) {
                out += (inline && first) ? "" : pad
                first = false
                out += key(k) + ":"
                if let s = scalar(v) {
                    out += " " + s + "\n"
                } else {
                    out += "\n"
                    emit(v, indent: indent + 1, into: &out, inline: false)
                }
            }
        case .array(let items) where !items.isEmpty:
            for item in items {
                out += pad + "- "
                if let s = scalar(item) {
                    out += s + "\n"
                } else {
                    emit(item, indent: indent + 1, into: &out, inline: true)
                }
            }
        default:
            out += pad + (scalar(value) ?? "null") + "\n"
        }
    }

    /// OpenAPI readers do not care about key order; people do: these come first, the rest alphabetically.
    static let leading = ["openapi", "info", "title", "version", "summary", "description", "servers", "security", "paths",
                          "operationId", "tags", "parameters", "requestBody", "responses", "name", "in", "required", "type"]

    static func order(_ a: String, _ b: String) -> Bool {
        let ia = leading.firstIndex(of: a) ?? Int.max
        let ib = leading.firstIndex(of: b) ?? Int.max
        return ia != ib ? ia < ib : a < b
    }
}
