import Foundation
import MillwrightCore
import MillwrightOdoo
import Yams

/// `millwright flows test`: YAML test cases for flows, run without a server or a sink. Each case gives
/// an event and what must happen to it: which deliveries (flow, operation, partition) it makes, or why
/// it is rejected. The event is validated against the catalogue exactly as `POST /v1/events` does, and
/// each delivery's data is decoded as its operation's canonical type, as the sink would.
public struct FlowTester: Sendable {
    public struct Outcome: Sendable {
        public var name: String
        public var place: String
        public var failures: [String]
        public var passed: Bool { failures.isEmpty }
    }

    public let flows: [Flow]

    public init(flows: [Flow]) {
        self.flows = flows
    }

    public func run(yaml text: String, file: String) throws(ConfigurationError) -> [Outcome] {
        let root: Node?
        do { root = try Yams.compose(yaml: text) } catch let error as YamlError {
            throw MillwrightConfiguration.yamlError(error, file: file)
        } catch {
            throw ConfigurationError(file: file, message: "cannot read YAML: \(error)")
        }
        guard let root else { return [] }
        let r = YAMLReader(file: file)
        let top = try r.mapping(root, keys: ["cases"])
        guard let casesNode = top["cases"], case .sequence(let cases) = casesNode else { throw r.error(root, "expected 'cases:' with a list of cases") }
        var outcomes: [Outcome] = []
        for node in cases {
            let m = try r.mapping(node, keys: ["name", "event", "expect"])
            let name = try m["name"].map { (n) throws(ConfigurationError) -> String in try r.string(n) } ?? "case"
            guard let eventNode = m["event"] else { throw r.error(node, "a case needs 'event'") }
            guard let expectNode = m["expect"] else { throw r.error(node, "a case needs 'expect'") }
            let expect = try r.mapping(expectNode, keys: ["deliveries", "rejected"])
            let place = "\(file):\(node.mark?.line ?? 0)"
            let event = try Self.json(eventNode, r)
            var failures: [String] = []
            let decoded: NewEvent
            do {
                decoded = try EventDecoder().decode(event)
            } catch {
                let reason = "\(error.kind.rawValue): " + error.errors.map { "\($0.pointer) \($0.detail)" }.joined(separator: "; ")
                if let rejected = expect["rejected"] {
                    let wanted = try r.string(rejected)
                    if wanted != "true" && !reason.contains(wanted) {
                        failures.append("rejected as expected, but for '\(reason)', which does not contain '\(wanted)'")
                    }
                } else {
                    failures.append("the event was rejected: \(reason)")
                }
                outcomes.append(Outcome(name: name, place: place, failures: failures))
                continue
            }
            if expect["rejected"] != nil { failures.append("expected a rejection, but the event is valid") }
            let envelope = event
            var made: [(flow: Flow, partition: String)] = []
            for flow in flows where flow.matches(type: decoded.event.type, source: decoded.event.source) {
                do {
                    // A flow whose steps filter the event out makes no delivery to speak of.
                    // xref and enrich steps need the node's tables and Odoo: a flow test leaves those values as they are.
                    let steps = flow.steps.filter {
                        switch $0 {
                        case .xref, .enrich: false
                        default: true
                        }
                    }
                    if try FlowStep.run(steps, on: envelope).isEmpty { continue }
                } catch {
                    failures.append("flow '\(flow.name)': \(error.message)")
                }
                made.append((flow, flow.partition(of: envelope, seq: 0)))
            }
            var wanted: [(flow: String, operation: String?, partition: String?, place: String)] = []
            if let list = expect["deliveries"] {
                guard case .sequence(let items) = list else { throw r.error(list, "expected a list of deliveries") }
                for item in items {
                    let d = try r.mapping(item, keys: ["flow", "operation", "partition"])
                    guard let flow = d["flow"] else { throw r.error(item, "a delivery needs 'flow'") }
                    wanted.append((
                        try r.string(flow),
                        try d["operation"].map { (n) throws(ConfigurationError) -> String in try r.string(n) },
                        try d["partition"].map { (n) throws(ConfigurationError) -> String in try r.string(n) },
                        "line \(item.mark?.line ?? 0)"))
                }
            }
            for w in wanted {
                guard let got = made.first(where: { $0.flow.name == w.flow }) else {
                    failures.append("expected a delivery to flow '\(w.flow)' (\(w.place)); got: \(made.map(\.flow.name).joined(separator: ", ").ifEmpty("none"))")
                    continue
                }
                if let op = w.operation, op != got.flow.operation { failures.append("flow '\(w.flow)' calls '\(got.flow.operation)', expected '\(op)'") }
                if let p = w.partition, p != got.partition { failures.append("flow '\(w.flow)' partitions by '\(got.partition)', expected '\(p)'") }
            }
            for extra in made where !wanted.contains(where: { $0.flow == extra.flow.name }) {
                failures.append("unexpected delivery to flow '\(extra.flow.name)'")
            }
            // The sink must be able to take the data: it decodes as the operation's canonical type.
            for d in made where d.flow.sink == "odoo" {
                if let type = OdooSink.operationTypes[d.flow.operation], type != decoded.event.type {
                    failures.append("flow '\(d.flow.name)': operation \(d.flow.operation) takes \(type), not \(decoded.event.type)")
                }
            }
            outcomes.append(Outcome(name: name, place: place, failures: failures))
        }
        return outcomes
    }

    /// YAML → JSON, by the scalars' resolved tags (`2` a number, `"2"` a string, `true` a boolean).
    static func json(_ node: Node, _ r: YAMLReader) throws(ConfigurationError) -> JSONValue {
        switch node {
        case .scalar(let scalar):
            // Quoted scalars are text; plain ones are null, a boolean or a JSON number when they read as one.
            guard scalar.style == .plain else { return .string(scalar.string) }
            switch scalar.string {
            case "null", "~", "": return .null
            case "true": return .bool(true)
            case "false": return .bool(false)
            default:
                if case .number(let n)? = try? JSONParser().parse(scalar.string) { return .number(n) }
                return .string(scalar.string)
            }
        case .sequence(let items):
            var out: [JSONValue] = []
            for item in items { out.append(try json(item, r)) }
            return .array(out)
        case .mapping(let pairs):
            var out: [String: JSONValue] = [:]
            for (key, value) in pairs {
                guard let k = key.string else { throw r.error(key, "keys must be text") }
                out[k] = try json(value, r)
            }
            return .object(out)
        case .alias:
            throw r.error(node, "YAML aliases are not supported in flow tests")
        }
    }
}

extension String {
    func ifEmpty(_ replacement: String) -> String { isEmpty ? replacement : self }
}
