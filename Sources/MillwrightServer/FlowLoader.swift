import Foundation
import MillwrightCore
import Yams

/// Reads flows from YAML (`flows/*.yaml`, one flow per file), strictly: an unknown key, a wrong type or
/// an unknown sink or operation is an error with file, line and column. See docs/flows.md.
public struct FlowLoader: Sendable {
    /// Sink name → its operations, to check `sink:` and `operation:`.
    public var sinks: [String: Set<String>]

    public init(sinks: [String: Set<String>]) {
        self.sinks = sinks
    }

    static let keys = ["name", "description", "match", "sink", "operation", "partition", "priority", "sla", "retry", "sync", "steps", "enabled", "gap", "rate_limit"]

    public func load(yaml text: String, file: String) throws(ConfigurationError) -> Flow {
        let root: Node?
        do {
            root = try Yams.compose(yaml: text)
        } catch let error as YamlError {
            throw MillwrightConfiguration.yamlError(error, file: file)
        } catch {
            throw ConfigurationError(file: file, message: "cannot read YAML: \(error)")
        }
        guard let root else { throw ConfigurationError(file: file, message: "the file is empty: a flow needs name, match, sink and operation") }
        let r = YAMLReader(file: file)
        let m = try r.mapping(root, keys: Self.keys)
        func required(_ key: String) throws(ConfigurationError) -> Node {
            guard let node = m[key] else { throw r.error(root, "missing required key '\(key)'") }
            return node
        }
        let nameNode = try required("name")
        let name = try r.string(nameNode)
        guard name.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "-" || $0 == "_" || $0 == ".") }) else {
            throw r.error(nameNode, "a flow name uses letters, digits, '-', '_' and '.'")
        }
        let matchNode = try required("match")
        let match = try r.mapping(matchNode, keys: ["types", "sources", "exclude_sources"])
        guard let typesNode = match["types"] else { throw r.error(matchNode, "match needs 'types'") }
        let types = try strings(typesNode, r)
        let sources = try match["sources"].map { (n) throws(ConfigurationError) -> [String] in try strings(n, r) } ?? []
        let sinkNode = try required("sink")
        let sink = try r.string(sinkNode)
        guard let operations = sinks[sink] else {
            throw r.error(sinkNode, "unknown sink '\(sink)'; configured sinks: \(sinks.keys.sorted().joined(separator: ", "))")
        }
        let operationNode = try required("operation")
        let operation = try r.string(operationNode)
        guard operations.contains(operation) || operations.contains("*") else {
            throw r.error(operationNode, "sink '\(sink)' has no operation '\(operation)'; it has: \(operations.sorted().joined(separator: ", "))")
        }
        var flow = Flow(name: name, types: types, sources: sources, sink: sink, operation: operation)
        flow.excludedSources = try match["exclude_sources"].map { (n) throws(ConfigurationError) -> [String] in try strings(n, r) } ?? []
        if let v = m["description"] { flow.description = try r.string(v) }
        if let v = m["enabled"] { flow.enabled = try r.bool(v) }
        if let v = m["priority"] { flow.priority = try r.choice(v, Flow.Priority.self) }
        if let v = m["sla"] { flow.sla = try duration(v, r) }
        if let v = m["rate_limit"] {
            // `rate_limit: 5` (a second), or `{per_second: 0.5, burst: 3}`.
            if case .scalar = v {
                flow.rateLimit = Flow.RateLimit(perSecond: try r.number(v, in: Flow.RateLimit.perSecondRange))
            } else {
                let limit = try r.mapping(v, keys: ["per_second", "burst"])
                guard let rate = limit["per_second"] else { throw r.error(v, "rate_limit needs per_second") }
                let burst = try limit["burst"].map { (n) throws(ConfigurationError) -> Int in try r.int(n, in: Flow.RateLimit.burstRange) }
                flow.rateLimit = Flow.RateLimit(perSecond: try r.number(rate, in: Flow.RateLimit.perSecondRange), burst: burst)
            }
        }
        if let v = m["partition"] {
            let text = try r.string(v)
            if text == "event" {
                flow.partition = .event
            } else {
                guard JSONPointer(rawValue: text).tokens != nil else {
                    throw r.error(v, "partition is 'event' (the event's partitionkey, else its subject) or a JSON pointer such as /data/order")
                }
                flow.partition = .pointer(text)
            }
        }
        if let v = m["retry"] {
            let retry = try r.mapping(v, keys: ["max_attempts", "initial_delay", "max_delay", "schedule"])
            if let n = retry["schedule"] {
                // A published schedule: the delay before each attempt (the first attempt's first, usually 0s).
                guard retry.count == 1 else { throw r.error(v, "retry is either schedule: [...] or max_attempts/initial_delay/max_delay, not both") }
                guard case .sequence(let items) = n, (1...50).contains(items.count) else {
                    throw r.error(n, "schedule is a list of 1 to 50 delays, the first attempt's first: [0s, 5s, 5m, 30m, 2h, 5h, 10h]")
                }
                var delays: [TimeInterval] = []
                for item in items { delays.append(try duration(item, r)) }
                flow.retry = RetryPolicy(schedule: delays)
            }
            if let n = retry["max_attempts"] { flow.retry.maxAttempts = try r.int(n, in: 1...1_000) }
            if let n = retry["initial_delay"] { flow.retry.initialDelay = try duration(n, r) }
            if let n = retry["max_delay"] { flow.retry.maxDelay = try duration(n, r) }
        }
        if let v = m["gap"] {
            let gap = try r.mapping(v, keys: ["hold", "then"])
            if let n = gap["hold"] { flow.gap.hold = try duration(n, r) }
            if let n = gap["then"] {
                switch try r.string(n) {
                case "deliver": flow.gap.deadLetter = false
                case "dead-letter": flow.gap.deadLetter = true
                default: throw r.error(n, "expected deliver or dead-letter")
                }
            }
        }
        if let v = m["sync"] {
            if case .scalar = v {
                guard try r.string(v) == "realtime" else {
                    throw r.error(v, "sync is 'realtime', {micro-batch: {max, window}} or {schedule: \"0 2 * * *\"}")
                }
            } else {
                flow.sync = try sync(v, r)
            }
        }
        if let v = m["steps"] {
            guard case .sequence(let items) = v else { throw r.error(v, "expected a list of steps (filter, set, lookup, split)") }
            for item in items { flow.steps.append(try step(item, r)) }
        }
        return flow
    }

    /// `{micro-batch: {max, window}}` or `{schedule: CRON}` / `{schedule: {cron, timezone, max}}`.
    func sync(_ node: Node, _ r: YAMLReader) throws(ConfigurationError) -> Flow.Sync {
        let sync = try r.mapping(node, keys: ["micro-batch", "schedule"])
        guard sync.count == 1 else { throw r.error(node, "sync is one of micro-batch or schedule") }
        if let batch = sync["micro-batch"] {
            let b = try r.mapping(batch, keys: ["max", "window"])
            let max = try b["max"].map { (n) throws(ConfigurationError) -> Int in try r.int(n, in: 1...10_000) } ?? 100
            let window = try b["window"].map { (n) throws(ConfigurationError) -> TimeInterval in try duration(n, r) } ?? 2
            return .microBatch(max: max, window: window)
        }
        guard let schedule = sync["schedule"] else { throw r.error(node, "sync is one of micro-batch or schedule") }
        var cronNode = schedule
        var zone = TimeZone(identifier: "UTC") ?? .current
        var max = 500
        if case .mapping = schedule {
            let s = try r.mapping(schedule, keys: ["cron", "timezone", "max"])
            guard let c = s["cron"] else { throw r.error(schedule, "schedule needs 'cron', e.g. cron: \"0 2 * * *\"") }
            cronNode = c
            if let t = s["timezone"] {
                let name = try r.string(t)
                guard let found = TimeZone(identifier: name) else { throw r.error(t, "unknown time zone '\(name)'; use an IANA name such as Europe/Berlin") }
                zone = found
            }
            if let n = s["max"] { max = try r.int(n, in: 1...10_000) }
        }
        let expression = try r.string(cronNode)
        do throws(CronSchedule.ParseError) {
            return .schedule(try CronSchedule(expression, timeZone: zone), max: max)
        } catch {
            throw r.error(cronNode, error.message)
        }
    }

    /// One step: a mapping with exactly one key, the step's kind.
    func step(_ node: Node, _ r: YAMLReader) throws(ConfigurationError) -> FlowStep {
        let kinds = ["filter", "set", "map", "lookup", "split", "xref", "status-map", "convert-units", "enrich"]
        let m = try r.mapping(node, keys: kinds)
        guard m.count == 1, let (kind, body) = m.first else { throw r.error(node, "a step is one of \(kinds.joined(separator: ", ")), e.g. - filter: {pointer: /data/final, equals: true}") }
        func pointer(_ n: Node) throws(ConfigurationError) -> JSONPointer {
            let text = try r.string(n)
            guard JSONPointer(rawValue: text).tokens != nil else { throw r.error(n, "expected a JSON pointer such as /data/order") }
            return JSONPointer(rawValue: text)
        }
        switch kind {
        case "filter":
            let f = try r.mapping(body, keys: ["pointer", "equals", "in", "exists", "not"])
            guard let p = f["pointer"] else { throw r.error(body, "filter needs 'pointer'") }
            let condition: FlowStep.Condition
            if let e = f["equals"] {
                condition = .equals(try FlowTester.json(e, r))
            } else if let list = f["in"] {
                guard case .array(let values) = try FlowTester.json(list, r) else { throw r.error(list, "expected a list of values") }
                condition = .oneOf(values)
            } else if let e = f["exists"] {
                guard try r.bool(e) else { throw r.error(e, "write 'not: true' with 'exists: true' to keep events without the field") }
                condition = .exists
            } else {
                throw r.error(body, "filter needs one of equals, in, exists")
            }
            return .filter(pointer: try pointer(p), condition: condition, negate: try f["not"].map { (n) throws(ConfigurationError) -> Bool in try r.bool(n) } ?? false)
        case "set":
            guard case .mapping(let pairs) = body, !pairs.isEmpty else { throw r.error(body, "set takes a mapping of pointer: value (or pointer: {from: pointer})") }
            var assignments: [FlowStep.Assignment] = []
            for (key, value) in pairs {
                let target = try pointer(key)
                if case .mapping = value, let from = try r.mapping(value, keys: ["from"])["from"] {
                    assignments.append(.init(target: target, source: .pointer(try pointer(from))))
                } else {
                    assignments.append(.init(target: target, source: .literal(try FlowTester.json(value, r))))
                }
            }
            return .set(assignments)
        case "map":
            return try map(body, r, pointer: pointer)
        case "enrich":
            return try enrich(body, r, pointer: pointer)
        case "lookup":
            let l = try r.mapping(body, keys: ["pointer", "table", "missing"])
            guard let p = l["pointer"], let t = l["table"] else { throw r.error(body, "lookup needs 'pointer' and 'table'") }
            guard case .object(let table) = try FlowTester.json(t, r) else { throw r.error(t, "table is a mapping of value: replacement") }
            let keep = try keepMissing(l["missing"], r)
            return .lookup(pointer: try pointer(p), table: table, keepMissing: keep)
        case "status-map":
            let sm = try r.mapping(body, keys: ["pointer", "table", "native", "missing"])
            guard let p = sm["pointer"], let t = sm["table"] else { throw r.error(body, "status-map needs 'pointer' and 'table'") }
            guard case .mapping(let pairs) = t else { throw r.error(t, "table is a mapping of native status: canonical state") }
            var table: [String: OrderState] = [:]
            for (key, value) in pairs {
                let text = try r.string(value)
                guard let state = OrderState(rawValue: text) else {
                    throw r.error(value, "'\(text)' is not a canonical state: use one of \(OrderState.allCases.map(\.rawValue).joined(separator: ", "))")
                }
                table[try r.string(key)] = state
            }
            let keep = try keepMissing(sm["missing"], r)
            return .statusMap(pointer: try pointer(p), table: table, native: try sm["native"].map { (n) throws(ConfigurationError) -> JSONPointer in try pointer(n) }, keepMissing: keep)
        case "convert-units":
            let c = try r.mapping(body, keys: ["quantity", "uom", "to"])
            guard let q = c["quantity"], let u = c["uom"], let to = c["to"] else { throw r.error(body, "convert-units needs 'quantity', 'uom' and 'to'") }
            let target = try r.string(to)
            guard UnitCatalogue.standard.contains(target) else { throw r.error(to, "'\(target)' is not a UN/ECE unit Millwright knows (e.g. KGM, H87, MTR, LTR)") }
            return .convertUnits(quantity: try pointer(q), uom: try pointer(u), to: UnitCode(target))
        case "xref":
            let x = try r.mapping(body, keys: ["pointer", "system", "kind", "missing"])
            guard let p = x["pointer"], let system = x["system"], let k = x["kind"] else { throw r.error(body, "xref needs 'pointer', 'system' and 'kind'") }
            let keep = try keepMissing(x["missing"], r)
            return .xref(pointer: try pointer(p), system: try r.string(system), kind: try r.string(k), keepMissing: keep)
        default:
            let s = try r.mapping(body, keys: ["pointer", "into"])
            guard let p = s["pointer"], let into = s["into"] else { throw r.error(body, "split needs 'pointer' (an array) and 'into' (where each element goes)") }
            return .split(pointer: try pointer(p), into: try pointer(into))
        }
    }

    /// `map: {/data/quantity: "data.good + data.scrap", tables: {machines: {M-07: FURN_7023}}}`: every key
    /// but `tables` is a target pointer, every value an expression (parsed now: a mistake has its column).
    func map(_ body: Node, _ r: YAMLReader, pointer: (Node) throws(ConfigurationError) -> JSONPointer) throws(ConfigurationError) -> FlowStep {
        guard case .mapping(let pairs) = body, !pairs.isEmpty else {
            throw r.error(body, "map takes a mapping of pointer: expression, e.g. /data/quantity: data.good + data.scrap")
        }
        var tables: [String: [String: JSONValue]] = [:]
        for (key, value) in pairs where key.string == "tables" {
            guard case .mapping(let named) = value else { throw r.error(value, "tables is a mapping of name: {key: value}") }
            for (nameNode, tableNode) in named {
                guard case .object(let table) = try FlowTester.json(tableNode, r) else { throw r.error(tableNode, "a table is a mapping of key: value") }
                tables[try r.string(nameNode)] = table
            }
        }
        var mappings: [FlowStep.Mapping] = []
        for (key, value) in pairs where key.string != "tables" {
            guard key.string?.hasPrefix("/") == true else {
                throw r.error(key, "a map key is a target pointer such as /data/quantity (or 'tables')")
            }
            let target = try pointer(key)
            let text = try r.string(value)
            do throws(FlowExpression.ParseError) {
                mappings.append(.init(target: target, expression: try FlowExpression.parse(text, tables: Set(tables.keys))))
            } catch {
                var quoted = false
                if case .scalar(let scalar) = value { quoted = scalar.style == .singleQuoted || scalar.style == .doubleQuoted }
                let column = (value.mark?.column ?? 1) + (quoted ? 1 : 0) + error.column - 1
                throw ConfigurationError(file: r.file, line: value.mark?.line, column: column, message: "map \(target): \(error.message)")
            }
        }
        guard !mappings.isEmpty else { throw r.error(body, "map needs at least one pointer: expression") }
        return .map(mappings, tables: tables)
    }

    /// `enrich: {from: odoo, model, match: {field: pointer}, fields: {field: pointer}, missing: error|keep}`.
    func enrich(_ body: Node, _ r: YAMLReader, pointer: (Node) throws(ConfigurationError) -> JSONPointer) throws(ConfigurationError) -> FlowStep {
        let e = try r.mapping(body, keys: ["from", "model", "match", "fields", "missing"])
        guard let modelNode = e["model"], let matchNode = e["match"], let fieldsNode = e["fields"] else {
            throw r.error(body, "enrich needs 'model', 'match' and 'fields', e.g. {model: product.product, match: {default_code: /data/product}, fields: {uom_id: /data/odoo_uom}}")
        }
        var source = "odoo"
        if let from = e["from"] {
            source = try r.string(from)
            guard source == "odoo" else { throw r.error(from, "enrich reads from odoo (the only system of record so far)") }
        }
        func pairs(_ node: Node, _ what: String) throws(ConfigurationError) -> [String: JSONPointer] {
            guard case .mapping(let items) = node, !items.isEmpty else { throw r.error(node, "\(what) is a mapping of Odoo field: JSON pointer") }
            var result: [String: JSONPointer] = [:]
            for (key, value) in items {
                let field = try r.string(key)
                guard !field.isEmpty, field.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "_" || $0 == ".") }) else {
                    throw r.error(key, "'\(field)' is not an Odoo field name")
                }
                result[field] = try pointer(value)
            }
            return result
        }
        let keep = try keepMissing(e["missing"], r)
        return .enrich(.init(source: source, model: try r.string(modelNode), match: try pairs(matchNode, "match"), fields: try pairs(fieldsNode, "fields"), keepMissing: keep))
    }

    /// `missing: keep | error` (default error): what a step does with a value its table lacks.
    func keepMissing(_ node: Node?, _ r: YAMLReader) throws(ConfigurationError) -> Bool {
        guard let node else { return false }
        switch try r.string(node) {
        case "keep": return true
        case "error": return false
        default: throw r.error(node, "expected keep or error")
        }
    }

    func strings(_ node: Node, _ r: YAMLReader) throws(ConfigurationError) -> [String] {
        switch node {
        case .scalar: return [try r.string(node)]
        case .sequence(let items):
            guard !items.isEmpty else { throw r.error(node, "expected at least one entry") }
            var result: [String] = []
            for item in items { result.append(try r.string(item)) }
            return result
        default: throw r.error(node, "expected a list of text")
        }
    }

    /// `500ms`, `5s`, `10m`, `2h`, or a number of seconds.
    func duration(_ node: Node, _ r: YAMLReader) throws(ConfigurationError) -> TimeInterval {
        let text = try r.string(node).trimmingCharacters(in: .whitespaces)
        let units: [(String, Double)] = [("ms", 0.001), ("s", 1), ("m", 60), ("h", 3_600), ("d", 86_400)]
        for (suffix, factor) in units where text.hasSuffix(suffix) {
            if let value = Double(text.dropLast(suffix.count)), value >= 0 { return value * factor }
        }
        if let value = Double(text), value >= 0 { return value }
        throw r.error(node, "expected a duration such as 500ms, 5s, 10m or 2h")
    }

    /// Every `*.yaml` / `*.yml` file of `directory`, sorted by name. Two flows with one name are an error.
    public func loadDirectory(_ directory: String) throws(ConfigurationError) -> [Flow] {
        let names: [String]
        do { names = try FileManager.default.contentsOfDirectory(atPath: directory) } catch {
            throw ConfigurationError(file: directory, message: "cannot read the flows directory: \(error.localizedDescription)")
        }
        var flows: [Flow] = []
        var seen: [String: String] = [:]
        for name in names.sorted() where name.hasSuffix(".yaml") || name.hasSuffix(".yml") {
            let path = (directory as NSString).appendingPathComponent(name)
            guard let text = try? String(contentsOfFile: path, encoding: .utf8) else {
                throw ConfigurationError(file: path, message: "cannot read the file")
            }
            let flow = try load(yaml: text, file: path)
            if let other = seen[flow.name] { throw ConfigurationError(file: path, message: "flow '\(flow.name)' is also defined in \(other)") }
            seen[flow.name] = path
            flows.append(flow)
        }
        return flows
    }

    /// The built-in flows with the directory's flows on top: a file flow replaces a built-in flow of the
    /// same name (e.g. to disable it with `enabled: false`).
    public static func merge(builtIn: [Flow], files: [Flow]) -> [Flow] {
        let overridden = Set(files.map(\.name))
        return builtIn.filter { !overridden.contains($0.name) } + files
    }
}
