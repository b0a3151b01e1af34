import Foundation
import Logging
import MillwrightAPI
import MillwrightCore
import MillwrightFiles
import MillwrightOdoo
import Yams

/// Everything `millwright serve` can be told, with its defaults.
///
/// Sources, later ones winning: defaults → YAML file (`--config`) → `MILLWRIGHT_*` environment → command-line flags.
public struct MillwrightConfiguration: Sendable {
    public var host = "127.0.0.1"
    public var port = 8080
    public var dataDirectory = "./data"
    public var durability: Durability = .full
    /// Most events one group-commit transaction takes.
    public var commitMaxBatchEvents = 2_000
    public var api = APIConfiguration()
    public var logLevel: Logger.Level = .info
    /// The Odoo connection; `nil` when no Odoo is configured.
    public var odoo: OdooConfiguration?
    /// Where `flows/*.yaml` are read from. A missing default directory means no flows.
    public var flowsDirectory = "./flows"
    /// Workers per priority (critical, normal, bulk): deliveries each runs at once.
    public var deliveryConcurrency = 2
    /// How long a worker holds a delivery before another may take it over (a crashed worker's deliveries
    /// wait this long). Longer than the slowest sink call.
    public var deliveryLeaseSeconds = 300
    /// `server.tls`: serve HTTPS with these PEM files; `nil`: plain HTTP.
    public var tls: TLSFiles?
    /// `files:`: folders the `file` sink writes to, by name (a flow's `operation`).
    public var files: [FileTarget] = []
    /// `webhooks.concurrency`: webhook calls the subscriptions' worker makes at once.
    public var webhookConcurrency = 8
    /// `webhooks.timeout_seconds`: how long one webhook call may take, connection included.
    public var webhookTimeoutSeconds = 15

    public init() {}

    public var databasePath: String { (dataDirectory as NSString).appendingPathComponent("millwright.sqlite") }
    public var adminTokenPath: String { (dataDirectory as NSString).appendingPathComponent("admin.token") }
}

/// A configuration mistake, said with its place: `millwright.yaml:3:5: unknown key 'prot' (did you mean 'port'?)`.
public struct ConfigurationError: Error, Sendable, CustomStringConvertible {
    public var file: String
    public var line: Int?
    public var column: Int?
    public var message: String

    public init(file: String, line: Int? = nil, column: Int? = nil, message: String) {
        self.file = file
        self.line = line
        self.column = column
        self.message = message
    }

    public var description: String {
        if let line, let column { return "\(file):\(line):\(column): \(message)" }
        return "\(file): \(message)"
    }
}

extension MillwrightConfiguration {
    /// Reads a YAML configuration file strictly: unknown keys and wrong types are errors with line and column.
    public mutating func apply(yaml text: String, file: String) throws(ConfigurationError) {
        let root: Node?
        do {
            root = try Yams.compose(yaml: text)
        } catch let error as YamlError {
            throw Self.yamlError(error, file: file)
        } catch {
            throw ConfigurationError(file: file, message: "cannot read YAML: \(error)")
        }
        guard let root else { return }  // an empty file is the defaults
        let r = YAMLReader(file: file)
        let top = try r.mapping(root, keys: ["server", "data", "store", "limits", "metrics", "log", "hooks", "approvals", "odoo", "flows", "files", "webhooks"])
        if let server = top["server"] {
            let m = try r.mapping(server, keys: ["host", "port", "tls"])
            if let v = m["host"] { host = try r.string(v) }
            if let v = m["port"] { port = try r.int(v, in: 1...65535) }
            if let v = m["tls"] { tls = try r.tls(v) }
        }
        if let v = top["data"] { dataDirectory = try r.string(v) }
        if let store = top["store"] {
            let m = try r.mapping(store, keys: ["durability", "commit_max_batch"])
            if let v = m["durability"] { durability = try r.choice(v, Durability.self) }
            if let v = m["commit_max_batch"] { commitMaxBatchEvents = try r.int(v, in: 1...100_000) }
        }
        if let limits = top["limits"] {
            let m = try r.mapping(limits, keys: ["max_body_bytes", "max_batch_events", "rate"])
            if let v = m["max_body_bytes"] { api.maxBodyBytes = try r.int(v, in: 1_024...1_073_741_824) }
            if let v = m["max_batch_events"] { api.maxBatchEvents = try r.int(v, in: 1...100_000) }
            if let v = m["rate"] { api.rateLimit = try r.rateLimit(v) }
        }
        if let metrics = top["metrics"] {
            let m = try r.mapping(metrics, keys: ["require_token"])
            if let v = m["require_token"] { api.metricsRequireToken = try r.bool(v) }
        }
        if let hooks = top["hooks"] { api.hooks = try r.hooks(hooks, catalogue: .v1) }
        if let approvals = top["approvals"] { api.approvals = try r.approvals(approvals) }
        if let log = top["log"] {
            let m = try r.mapping(log, keys: ["level"])
            if let v = m["level"] { logLevel = try r.choice(v, Logger.Level.self) }
        }
        if let node = top["odoo"] { try applyOdoo(node, r) }
        if let node = top["files"] { files = try r.fileTargets(node) }
        if let node = top["webhooks"] {
            let m = try r.mapping(node, keys: ["concurrency", "timeout_seconds"])
            if let v = m["concurrency"] { webhookConcurrency = try r.int(v, in: 1...256) }
            if let v = m["timeout_seconds"] { webhookTimeoutSeconds = try r.int(v, in: 1...300) }
        }
        if let flows = top["flows"] {
            let m = try r.mapping(flows, keys: ["directory", "concurrency", "lease_seconds"])
            if let v = m["lease_seconds"] { deliveryLeaseSeconds = try r.int(v, in: 1...86_400) }
            if let v = m["directory"] { flowsDirectory = try r.string(v) }
            if let v = m["concurrency"] { deliveryConcurrency = try r.int(v, in: 1...64) }
        }
    }

    private mutating func applyOdoo(_ node: Node, _ r: YAMLReader) throws(ConfigurationError) {
        let m = try r.mapping(node, keys: [
            "url", "database", "login", "api_key", "protocol", "max_concurrent_calls", "calls_per_second", "timeout_seconds",
            "stock_location", "quarantine_location", "units", "capture",
        ])
        var o = odoo ?? OdooConfiguration()
        if let v = m["url"] { o.url = try r.string(v) }
        if let v = m["database"] { o.database = try r.string(v) }
        if let v = m["login"] { o.login = try r.string(v) }
        if let v = m["api_key"] {
            do { o.apiKey = try SecretReference(parsing: try r.string(v)) } catch let e as SecretError { throw r.error(v, "api_key: \(e.description)") } catch { throw r.error(v, "\(error)") }
        }
        if let v = m["protocol"] { o.preferredProtocol = try r.choice(v, OdooProtocol.self) }
        if let v = m["max_concurrent_calls"] { o.maxConcurrentCalls = try r.int(v, in: 1...64) }
        if let v = m["calls_per_second"] { o.callsPerSecond = Double(try r.int(v, in: 0...100_000)) }
        if let v = m["timeout_seconds"] { o.timeoutSeconds = try r.int(v, in: 1...3_600) }
        if let v = m["stock_location"] { o.stockLocation = try r.string(v) }
        if let v = m["quarantine_location"] { o.quarantineLocation = try r.string(v) }
        if let v = m["units"] {
            guard case .mapping(let units) = v else { throw r.error(v, "expected a mapping of UN/ECE unit codes to Odoo unit names, e.g. BX: Box of 10") }
            for (key, value) in units {
                o.unitNames[try r.string(key)] = [try r.string(value)]
            }
        }
        if let v = m["capture"] {
            let c = try r.mapping(v, keys: ["enabled", "poll_interval_seconds", "overlap_seconds", "page_size"])
            if let v = c["enabled"] { o.capture.enabled = try r.bool(v) }
            if let v = c["poll_interval_seconds"] { o.capture.pollIntervalSeconds = try r.int(v, in: 1...86_400) }
            if let v = c["overlap_seconds"] { o.capture.overlapSeconds = try r.int(v, in: 0...86_400) }
            if let v = c["page_size"] { o.capture.pageSize = try r.int(v, in: 1...5_000) }
        }
        odoo = o
    }

    /// Applies `MILLWRIGHT_*` environment variables.
    public mutating func apply(environment: [String: String]) throws(ConfigurationError) {
        func value<T>(_ name: String, _ parse: (String) -> T?, _ expected: String) throws(ConfigurationError) -> T? {
            guard let raw = environment[name] else { return nil }
            guard let parsed = parse(raw) else {
                throw ConfigurationError(file: "environment", message: "\(name)='\(raw)' is not valid: expected \(expected)")
            }
            return parsed
        }
        if let v = try value("MILLWRIGHT_HOST", { $0.isEmpty ? nil : $0 }, "a host name or address") { host = v }
        if let v = try value("MILLWRIGHT_PORT", { Int($0).flatMap { (1...65535).contains($0) ? $0 : nil } }, "a port 1-65535") { port = v }
        if let v = try value("MILLWRIGHT_DATA", { $0.isEmpty ? nil : $0 }, "a directory") { dataDirectory = v }
        if let v = try value("MILLWRIGHT_DURABILITY", { Durability(rawValue: $0) }, "full or normal") { durability = v }
        if let v = try value("MILLWRIGHT_COMMIT_MAX_BATCH", { Int($0).flatMap { (1...100_000).contains($0) ? $0 : nil } }, "a whole number from 1 to 100000") { commitMaxBatchEvents = v }
        if let v = try value("MILLWRIGHT_MAX_BODY_BYTES", { Int($0).flatMap { (1_024...1_073_741_824).contains($0) ? $0 : nil } }, "a whole number of bytes from 1024 to 1073741824") { api.maxBodyBytes = v }
        if let v = try value("MILLWRIGHT_MAX_BATCH_EVENTS", { Int($0).flatMap { (1...100_000).contains($0) ? $0 : nil } }, "a whole number from 1 to 100000") { api.maxBatchEvents = v }
        if let v = try value("MILLWRIGHT_METRICS_REQUIRE_TOKEN", YAMLReader.parseBool, "true or false") { api.metricsRequireToken = v }
        if let v = try value("MILLWRIGHT_FLOWS", { $0.isEmpty ? nil : $0 }, "a directory") { flowsDirectory = v }
        if let v = try value("MILLWRIGHT_DELIVERY_LEASE_SECONDS", { Int($0).flatMap { (1...86_400).contains($0) ? $0 : nil } }, "seconds from 1 to 86400") { deliveryLeaseSeconds = v }
        try applyRateLimit(environment: environment)
        try applyTLS(environment: environment)
        if let v = try value("MILLWRIGHT_LOG_LEVEL", { Logger.Level(rawValue: $0) }, "trace, debug, info, notice, warning, error or critical") { logLevel = v }
        let odooVariables = ["MILLWRIGHT_ODOO_URL", "MILLWRIGHT_ODOO_DB", "MILLWRIGHT_ODOO_LOGIN", "MILLWRIGHT_ODOO_API_KEY"]
        if odooVariables.contains(where: { environment[$0] != nil }) {
            var o = odoo ?? OdooConfiguration()
            if let v = try value("MILLWRIGHT_ODOO_URL", { $0.isEmpty ? nil : $0 }, "an http(s) URL") { o.url = v }
            if let v = try value("MILLWRIGHT_ODOO_DB", { $0.isEmpty ? nil : $0 }, "a database name") { o.database = v }
            if let v = try value("MILLWRIGHT_ODOO_LOGIN", { $0.isEmpty ? nil : $0 }, "a login") { o.login = v }
            // The variable holds the key itself; the configuration keeps only the reference to it.
            if environment["MILLWRIGHT_ODOO_API_KEY"] != nil { o.apiKey = .environment("MILLWRIGHT_ODOO_API_KEY") }
            odoo = o
        }
        if var o = odoo {
            if let v = try value("MILLWRIGHT_ODOO_CAPTURE", YAMLReader.parseBool, "true or false") { o.capture.enabled = v }
            if let v = try value("MILLWRIGHT_ODOO_CAPTURE_POLL_INTERVAL_SECONDS", { Int($0).flatMap { (1...86_400).contains($0) ? $0 : nil } }, "seconds from 1 to 86400") {
                o.capture.pollIntervalSeconds = v
            }
            odoo = o
        }
    }

    static func yamlError(_ error: YamlError, file: String) -> ConfigurationError {
        switch error {
        case .scanner(_, let problem, let mark, _), .parser(_, let problem, let mark, _):
            return ConfigurationError(file: file, line: mark.line, column: mark.column, message: problem)
        default:
            return ConfigurationError(file: file, message: "\(error)")
        }
    }
}

/// Strict reading of YAML nodes: every mistake carries its line and column.
struct YAMLReader {
    let file: String

    func error(_ node: Node, _ message: String) -> ConfigurationError {
        ConfigurationError(file: file, line: node.mark?.line, column: node.mark?.column, message: message)
    }

    func mapping(_ node: Node, keys allowed: [String]) throws(ConfigurationError) -> [String: Node] {
        guard case .mapping(let mapping) = node else { throw error(node, "expected a mapping of \(allowed.joined(separator: ", "))") }
        var result: [String: Node] = [:]
        for (keyNode, value) in mapping {
            guard let key = keyNode.string else { throw error(keyNode, "keys must be plain names") }
            guard allowed.contains(key) else {
                let hint = Self.closest(to: key, in: allowed).map { " (did you mean '\($0)'?)" } ?? ""
                throw error(keyNode, "unknown key '\(key)'\(hint); allowed here: \(allowed.joined(separator: ", "))")
            }
            guard result.updateValue(value, forKey: key) == nil else { throw error(keyNode, "key '\(key)' appears twice") }
        }
        return result
    }

    func string(_ node: Node) throws(ConfigurationError) -> String {
        guard case .scalar(let s) = node, !s.string.isEmpty else { throw error(node, "expected text") }
        return s.string
    }

    func int(_ node: Node, in range: ClosedRange<Int>) throws(ConfigurationError) -> Int {
        guard case .scalar(let s) = node, let v = Int(s.string.replacingOccurrences(of: "_", with: "")) else {
            throw error(node, "expected a whole number")
        }
        guard range.contains(v) else { throw error(node, "must be from \(range.lowerBound) to \(range.upperBound)") }
        return v
    }

    func bool(_ node: Node) throws(ConfigurationError) -> Bool {
        guard case .scalar(let s) = node, let v = Self.parseBool(s.string) else { throw error(node, "expected true or false") }
        return v
    }

    func choice<T: RawRepresentable & CaseIterable>(_ node: Node, _ type: T.Type) throws(ConfigurationError) -> T where T.RawValue == String {
        guard case .scalar(let s) = node, let v = T(rawValue: s.string) else {
            throw error(node, "expected one of \(T.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        return v
    }

    static func parseBool(_ s: String) -> Bool? {
        switch s.lowercased() {
        case "true", "yes", "on", "1": true
        case "false", "no", "off", "0": false
        default: nil
        }
    }

    /// The allowed key closest to a misspelt one, when it is close enough to be a typo.
    static func closest(to key: String, in candidates: [String]) -> String? {
        let scored = candidates.map { ($0, distance(key, $0)) }.min { $0.1 < $1.1 }
        guard let (best, d) = scored, d <= max(2, key.count / 3) else { return nil }
        return best
    }

    static func distance(_ a: String, _ b: String) -> Int {
        let a = Array(a), b = Array(b)
        if a.isEmpty { return b.count }
        if b.isEmpty { return a.count }
        var previous = Array(0...b.count)
        for i in 1...a.count {
            var current = [i] + Array(repeating: 0, count: b.count)
            for j in 1...b.count {
                current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1))
            }
            previous = current
        }
        return previous[b.count]
    }
}

/// The `odoo:` section. The API key is a reference (`env:NAME`, `file:PATH`), resolved when connecting.
public struct OdooConfiguration: Sendable {
    public var url = ""
    public var database = ""
    public var login = ""
    public var apiKey: SecretReference?
    public var preferredProtocol: OdooProtocol?
    public var maxConcurrentCalls = 2
    public var callsPerSecond: Double = 50
    public var timeoutSeconds = 125
    public var stockLocation = "WH/Stock"
    public var quarantineLocation = "WH/Quarantine"
    public var unitNames = OdooUnits.standardNames
    /// Change capture (Odoo → plant): `odoo.capture`.
    public var capture = CaptureConfiguration()

    /// `odoo.capture`: webhooks as signals plus a `write_date` poll (docs/odoo.md, "Change capture").
    public struct CaptureConfiguration: Sendable {
        /// On by default whenever `odoo:` is configured; `MILLWRIGHT_ODOO_CAPTURE=false` turns it off.
        public var enabled = true
        /// Time between two polls: the longest a change waits when its webhook is lost.
        public var pollIntervalSeconds = 30
        /// How far before the watermark each poll reads again.
        public var overlapSeconds = 60
        /// Records per `search_read` page.
        public var pageSize = 200
        public init() {}
    }

    public init() {}

    /// Checks that everything needed is there and resolves the key. Errors name the setting to fix.
    public func settings(environment: [String: String] = ProcessInfo.processInfo.environment) throws(ConfigurationError) -> OdooSettings {
        var missing: [String] = []
        if url.isEmpty { missing.append("odoo.url (MILLWRIGHT_ODOO_URL)") }
        if database.isEmpty { missing.append("odoo.database (MILLWRIGHT_ODOO_DB)") }
        if login.isEmpty { missing.append("odoo.login (MILLWRIGHT_ODOO_LOGIN)") }
        if apiKey == nil { missing.append("odoo.api_key (MILLWRIGHT_ODOO_API_KEY)") }
        guard missing.isEmpty, let apiKey else {
            throw ConfigurationError(file: "configuration", message: "Odoo is not fully configured; missing: " + missing.joined(separator: ", "))
        }
        let key: String
        do { key = try apiKey.resolve(environment: environment) } catch {
            throw ConfigurationError(file: "configuration", message: "odoo.api_key: \(error.description)")
        }
        return OdooSettings(
            url: url, database: database, login: login, apiKey: key, preferredProtocol: preferredProtocol,
            maxConcurrentCalls: maxConcurrentCalls, callsPerSecond: callsPerSecond > 0 ? callsPerSecond : nil,
            callTimeout: .seconds(timeoutSeconds))
    }
}
