import MillwrightAPI
import MillwrightCore
import Yams

/// The `hooks:` section: inbound webhook sources by name.
///
/// ```yaml
/// hooks:
///   supplier-portal:
///     kind: standard-webhooks
///     secret: env:SUPPLIER_WEBHOOK_SECRET
///     map:
///       type: mfg.goods.received.v1
///       subject: purchase-order/{/purchase_order}
/// ```
extension MillwrightConfiguration {
    /// The hook sources with their secrets read (at start: a missing secret stops `serve` with exit code 2).
    public func resolvedHooks(environment: [String: String]) throws(ConfigurationError) -> [HookSource] {
        var result: [HookSource] = []
        for hook in api.hooks {
            do throws(HookSource.ResolutionError) {
                result.append(try HookSource.resolve(hook, environment: environment))
            } catch {
                throw ConfigurationError(file: "configuration", message: error.description)
            }
        }
        return result
    }
}

extension YAMLReader {
    static let hookKeys = ["kind", "secret", "header", "tolerance_seconds", "allow", "max_concurrent", "map"]
    static let hookMapKeys = ["type", "source", "id", "subject", "time", "partitionkey", "data"]

    func hooks(_ node: Node, catalogue: Catalogue) throws(ConfigurationError) -> [HookSourceConfiguration] {
        guard case .mapping(let mapping) = node else { throw error(node, "expected a mapping of hook source names to their settings") }
        var result: [HookSourceConfiguration] = []
        for (keyNode, value) in mapping {
            guard let name = keyNode.string, HookSourceConfiguration.validName(name) else {
                throw error(keyNode, "a hook source name is 1 to 64 letters, digits, '-', '_' or '.' (it is the {source} of /v1/hooks/{source})")
            }
            guard !result.contains(where: { $0.name == name }) else { throw error(keyNode, "hook source '\(name)' appears twice") }
            result.append(try hook(name: name, value, catalogue: catalogue))
        }
        return result
    }

    func hook(name: String, _ node: Node, catalogue: Catalogue) throws(ConfigurationError) -> HookSourceConfiguration {
        let m = try mapping(node, keys: Self.hookKeys)
        guard let kindNode = m["kind"] else {
            throw error(node, "hook source '\(name)' needs a kind: \(HookSourceConfiguration.Kind.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        var hook = HookSourceConfiguration(name: name, kind: try choice(kindNode, HookSourceConfiguration.Kind.self))
        if let v = m["secret"] {
            let text = try string(v)
            do throws(SecretError) { hook.secret = try SecretReference(parsing: text) } catch { throw self.error(v, error.description) }
        }
        if let v = m["header"] {
            let header = try string(v)
            guard header.utf8.allSatisfy({ c in (c >= 0x61 && c <= 0x7A) || (c >= 0x41 && c <= 0x5A) || (c >= 0x30 && c <= 0x39) || c == 0x2D || c == 0x5F }) else {
                throw error(v, "a header name is letters, digits, '-' and '_'")
            }
            guard !["authorization", "cookie", "host", "content-type", "content-length"].contains(header.lowercased()) else {
                throw error(v, "'\(header)' cannot carry a hook secret: choose a header of its own, e.g. X-Hook-Secret")
            }
            hook.header = header
        }
        if let v = m["tolerance_seconds"] { hook.toleranceSeconds = try int(v, in: 1...86_400) }
        if let v = m["max_concurrent"] { hook.maxConcurrent = try int(v, in: 1...10_000) }
        if let v = m["allow"] {
            guard case .sequence(let items) = v else { throw error(v, "expected a list of networks, e.g. [10.20.0.0/16, 192.0.2.7]") }
            for item in items {
                let text = try string(item)
                do throws(NetworkAllowList.ParseError) { _ = try NetworkAllowList([text]) } catch { throw self.error(item, error.description) }
                hook.allow.append(text)
            }
        }
        if let v = m["map"] { hook.mapping = try hookMapping(v, catalogue: catalogue, kind: hook.kind) }

        switch hook.kind {
        case .standardWebhooks, .sharedSecret, .odoo:
            guard hook.secret != nil else { throw error(node, "hook source '\(name)' of kind \(hook.kind.rawValue) needs a secret: env:NAME or file:PATH") }
        case .none:
            guard hook.secret == nil else { throw error(m["secret"] ?? node, "a hook source of kind none has no secret; did you mean shared-secret?") }
        }
        if hook.kind == .sharedSecret, hook.header == nil {
            throw error(node, "hook source '\(name)' of kind shared-secret needs a header: the header that carries the secret")
        }
        if hook.kind != .sharedSecret, let v = m["header"] { throw error(v, "header is only for kind shared-secret") }
        if hook.kind == .none || hook.kind == .odoo, hook.allow.isEmpty {
            throw error(node, "hook source '\(name)' of kind \(hook.kind.rawValue) needs allow: the networks that may call it (CIDR)")
        }
        if hook.kind != .odoo, hook.mapping.type == nil {
            throw error(node, "hook source '\(name)' needs map.type: the canonical type of its events, e.g. mfg.goods.received.v1")
        }
        return hook
    }

    func hookMapping(_ node: Node, catalogue: Catalogue, kind: HookSourceConfiguration.Kind) throws(ConfigurationError) -> HookMapping {
        let m = try mapping(node, keys: Self.hookMapKeys)
        var mapping = HookMapping()
        if let v = m["type"] {
            guard kind != .odoo else { throw error(v, "an odoo source always emits \(OdooRecordChanged.eventType); leave type out") }
            let type = try string(v)
            guard catalogue.spec(type) != nil else {
                let hint = Self.closest(to: type, in: catalogue.sortedTypes.map(\.type)).map { " (did you mean '\($0)'?)" } ?? ""
                throw error(v, "unknown canonical type '\(type)'\(hint); GET /v1/schemas lists them")
            }
            mapping.type = type
        }
        if let v = m["source"] { mapping.source = try string(v) }
        func template(_ key: String) throws(ConfigurationError) -> HookTemplate? {
            guard let v = m[key] else { return nil }
            let text = try string(v)
            do throws(HookTemplate.ParseError) { return try HookTemplate(text) } catch { throw self.error(v, error.description) }
        }
        mapping.id = try template("id")
        mapping.subject = try template("subject")
        mapping.time = try template("time")
        mapping.partitionKey = try template("partitionkey")
        if let v = m["data"] {
            guard kind != .odoo else { throw error(v, "an odoo source's data is the record signal; leave data out") }
            let pointer = try string(v)
            guard pointer.hasPrefix("/") else { throw error(v, "expected a JSON pointer into the payload, e.g. /payload") }
            mapping.data = pointer
        }
        return mapping
    }
}
