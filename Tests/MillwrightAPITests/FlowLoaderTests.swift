import Foundation
import MillwrightCore
import MillwrightServer
import Testing

@Suite struct FlowLoaderTests {
    let loader = FlowLoader(sinks: ["odoo": ["production.complete", "scrap"]])

    func error(_ yaml: String) -> String {
        do {
            _ = try loader.load(yaml: yaml, file: "f.yaml")
            return "no error"
        } catch {
            return error.description
        }
    }

    @Test func readsAFlow() throws {
        let flow = try loader.load(yaml: """
            name: completions
            match:
              types: [mfg.production.completed.v1]
              sources: ["mes/*"]
            sink: odoo
            operation: production.complete
            partition: /data/order
            priority: critical
            sla: 5s
            retry: {max_attempts: 5, initial_delay: 500ms, max_delay: 2m}
            """, file: "f.yaml")
        #expect(flow.name == "completions")
        #expect(flow.partition == .pointer("/data/order"))
        #expect(flow.priority == .critical)
        #expect(flow.sla == 5)
        #expect(flow.retry == RetryPolicy(maxAttempts: 5, initialDelay: 0.5, maxDelay: 120))
        #expect(flow.matches(type: "mfg.production.completed.v1", source: "mes/line-1"))
        #expect(!flow.matches(type: "mfg.production.completed.v1", source: "qms/lab"))
    }

    @Test func mistakesHaveTheirPlace() throws {
        let base = "name: x\nmatch: {types: [a]}\nsink: odoo\n"
        #expect(error(base + "operation: production.complete\npriorty: bulk\n") == "f.yaml:5:1: unknown key 'priorty' (did you mean 'priority'?); allowed here: " + FlowLoaderTests.allowed)
        #expect(error(base + "operation: nope\n").hasPrefix("f.yaml:4:12: sink 'odoo' has no operation 'nope'"))
        #expect(error("name: x\nmatch: {types: [a]}\nsink: mqtt\noperation: y\n").hasPrefix("f.yaml:3:7: unknown sink 'mqtt'"))
        #expect(error(base + "operation: scrap\nsla: soon\n").hasPrefix("f.yaml:5:6: expected a duration"))
        #expect(error(base + "operation: scrap\npartition: data.order\n").hasPrefix("f.yaml:5:12: partition is 'event'"))
        #expect(error(base + "operation: scrap\nsync: {micro-batch: {max: 0}}\n").hasPrefix("f.yaml:5:27: must be from 1 to 10000"))
        #expect(error(base + "operation: scrap\nsync: hourly\n").hasPrefix("f.yaml:5:7: sync is 'realtime', {micro-batch"))
        #expect(error(base + "operation: scrap\nsync: {schedule: \"0 25 * * *\"}\n") == "f.yaml:5:18: hour '25' is not in 0-23")
        #expect(error(base + "operation: scrap\nsync: {schedule: {cron: \"@daily\", timezone: Mars/Olympus}}\n").hasPrefix("f.yaml:5:45: unknown time zone 'Mars/Olympus'"))
        #expect(error(base + "operation: scrap\nsync: {schedule: \"0 2 * * *\", micro-batch: {max: 2}}\n").hasPrefix("f.yaml:5:7: sync is one of micro-batch or schedule"))
        let nightly = try loader.load(yaml: base + "operation: scrap\nsync: {schedule: {cron: \"0 2 * * *\", timezone: Europe/Berlin, max: 200}}\n", file: "f.yaml")
        #expect(nightly.sync == .schedule(try CronSchedule("0 2 * * *", timeZone: try #require(TimeZone(identifier: "Europe/Berlin"))), max: 200))
        #expect(try loader.load(yaml: base + "operation: scrap\nsync: {schedule: \"@hourly\"}\n", file: "f.yaml").sync == .schedule(try CronSchedule("@hourly"), max: 500))
        #expect(try loader.load(yaml: base + "operation: scrap\nsync: {micro-batch: {max: 50, window: 1s}}\n", file: "f.yaml").sync == .microBatch(max: 50, window: 1))
        #expect(error("name: x\nsink: odoo\noperation: scrap\n").hasPrefix("f.yaml:1:1: missing required key 'match'"))
    }

    @Test func aRateLimitIsANumberOrPerSecondAndBurst() throws {
        let base = "name: x\nmatch: {types: [a]}\nsink: odoo\noperation: scrap\n"
        #expect(try loader.load(yaml: base + "rate_limit: 5\n", file: "f.yaml").rateLimit == Flow.RateLimit(perSecond: 5, burst: 5))
        #expect(try loader.load(yaml: base + "rate_limit: 0.5\n", file: "f.yaml").rateLimit == Flow.RateLimit(perSecond: 0.5, burst: 1))
        #expect(try loader.load(yaml: base + "rate_limit: {per_second: 2, burst: 10}\n", file: "f.yaml").rateLimit == Flow.RateLimit(perSecond: 2, burst: 10))
        #expect(try loader.load(yaml: base, file: "f.yaml").rateLimit == nil)
        #expect(error(base + "rate_limit: 0\n") == "f.yaml:5:13: must be from 0.001 to 100000")
        #expect(error(base + "rate_limit: {burst: 3}\n") == "f.yaml:5:13: rate_limit needs per_second")
        #expect(error(base + "rate_limit: {per_second: 1, burst: 0}\n") .hasPrefix("f.yaml:5:36: must be from 1 to 100000"))
        #expect(error(base + "rate_limit: fast\n") == "f.yaml:5:13: expected a number")
    }

    @Test func readsSteps() throws {
        let flow = try loader.load(yaml: """
            name: scrap-by-machine
            match: {types: [mfg.scrap.reported.v1]}
            sink: odoo
            operation: scrap
            steps:
              - filter: {pointer: /data/quantity, in: [1, 2, 3]}
              - lookup: {pointer: /data/product, table: {M-07-PANEL: FURN_7023}, missing: keep}
              - set: {/data/location: WH/Stock, /data/reason: {from: /source}}
              - split: {pointer: /data/lines, into: /data/line}
            """, file: "f.yaml")
        #expect(flow.steps.count == 4)
        let more = try loader.load(yaml: """
            name: status
            match: {types: [a]}
            sink: odoo
            operation: scrap
            steps:
              - status-map: {pointer: /data/state, table: {RUN: in_progress, HOLD: blocked}, native: /data/native_state}
              - convert-units: {quantity: /data/quantity, uom: /data/uom, to: KGM}
            """, file: "f.yaml")
        #expect(more.steps.count == 2)
        #expect(error("name: x\nmatch: {types: [a]}\nsink: odoo\noperation: scrap\nsteps:\n  - status-map: {pointer: /data/s, table: {RUN: running}}\n").hasPrefix("f.yaml:6:49: 'running' is not a canonical state"))
        #expect(flow.steps[1] == .lookup(pointer: "/data/product", table: ["M-07-PANEL": "FURN_7023"], keepMissing: true))
        #expect(error("name: x\nmatch: {types: [a]}\nsink: odoo\noperation: scrap\nsteps:\n  - mapp: {a: b}\n").hasPrefix("f.yaml:6:5: unknown key 'mapp' (did you mean 'map'?)"))
        #expect(error("name: x\nmatch: {types: [a]}\nsink: odoo\noperation: scrap\nsteps:\n  - filter: {pointer: data, equals: 1}\n").hasPrefix("f.yaml:6:23: expected a JSON pointer"))
    }

    @Test func readsMapAndEnrich() throws {
        let base = "name: x\nmatch: {types: [a]}\nsink: odoo\noperation: scrap\nsteps:\n"
        let flow = try loader.load(yaml: base + """
              - map:
                  tables: {machines: {M-07: FURN_7023}}
                  /data/product: lookup('machines', data.machine)
                  /data/quantity: data.good + data.scrap
                  /data/order: "'WH/MO/' + pad_left(data.mo, 5, '0')"
              - enrich: {model: product.product, match: {default_code: /data/product}, fields: {uom_id: /data/odoo_uom}, missing: keep}
            """, file: "f.yaml")
        guard case .map(let mappings, let tables) = flow.steps[0] else { Issue.record("expected a map step"); return }
        #expect(mappings.map(\.target) == ["/data/product", "/data/quantity", "/data/order"])
        #expect(tables == ["machines": ["M-07": "FURN_7023"]])
        let out = try flow.steps[0].apply(["data": ["machine": "M-07", "good": 3, "scrap": 1, "mo": 42]])
        #expect(out.first?["data"]?["order"] == "WH/MO/00042")
        #expect(out.first?["data"]?["quantity"] == 4)
        #expect(flow.steps[1] == .enrich(.init(source: "odoo", model: "product.product", match: ["default_code": "/data/product"], fields: ["uom_id": "/data/odoo_uom"], keepMissing: true)))
        // The column points into the expression, quoted or not.
        #expect(error(base + "  - map: {/data/q: data.good +* 2}\n") == "f.yaml:6:31: map /data/q: unexpected '*'")
        #expect(error(base + "  - map: {/data/q: \"upper(data.x, 1)\"}\n") == "f.yaml:6:21: map /data/q: upper takes 1 argument, not 2")
        #expect(error(base + "  - map: {/data/q: \"lookup('m', data.x)\"}\n") == "f.yaml:6:21: map /data/q: lookup: no table 'm' in this step's tables")
        #expect(error(base + "  - map: {data: x}\n").hasPrefix("f.yaml:6:11: a map key is a target pointer"))
        #expect(error(base + "  - enrich: {model: product.product, match: {default_code: /data/p}}\n").hasPrefix("f.yaml:6:13: enrich needs 'model', 'match' and 'fields'"))
        #expect(error(base + "  - enrich: {from: sap, model: m, match: {a: /a}, fields: {b: /b}}\n").hasPrefix("f.yaml:6:20: enrich reads from odoo"))
        #expect(error(base + "  - enrich: {model: m, match: {'a b': /a}, fields: {b: /b}}\n").hasPrefix("f.yaml:6:32: 'a b' is not an Odoo field name"))
    }

    static let allowed = "name, description, match, sink, operation, partition, priority, sla, retry, sync, steps, enabled, gap, rate_limit"

    @Test func theShippedFlowsAreValid() throws {
        let directory = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("flows").path
        let flows = try FlowLoader(sinks: MillwrightNode.knownSinks).loadDirectory(directory)
        #expect(flows.count == 14)
        #expect(Set(flows.map(\.sink)) == ["odoo", "odoo-capture"])
    }
}

@Suite struct FlowTesterTests {
    static var repository: URL { URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent() }

    @Test func theShippedFlowTestsPass() throws {
        let flows = try FlowLoader(sinks: MillwrightNode.knownSinks).loadDirectory(Self.repository.appendingPathComponent("flows").path)
        let file = Self.repository.appendingPathComponent("flows/tests/odoo.yaml").path
        let outcomes = try FlowTester(flows: flows).run(yaml: try String(contentsOfFile: file, encoding: .utf8), file: file)
        #expect(outcomes.count == 9)
        for outcome in outcomes { #expect(outcome.passed, "\(outcome.name): \(outcome.failures)") }
    }

    @Test func aWrongExpectationFailsAndSaysWhy() throws {
        let flows = try FlowLoader(sinks: MillwrightNode.knownSinks).loadDirectory(Self.repository.appendingPathComponent("flows").path)
        let outcomes = try FlowTester(flows: flows).run(yaml: """
            cases:
              - name: wrong flow
                event: {specversion: "1.0", id: x, source: mes/1, type: mfg.scrap.reported.v1, data: {product: P, quantity: 1, uom: H87}}
                expect:
                  deliveries: [{flow: odoo-production-completed}]
              - name: valid but expected rejected
                event: {specversion: "1.0", id: y, source: mes/1, type: mfg.scrap.reported.v1, data: {product: P, quantity: 1, uom: H87}}
                expect: {rejected: "true"}
            """, file: "t.yaml")
        #expect(outcomes.map(\.passed) == [false, false])
        #expect(outcomes[0].failures.contains("unexpected delivery to flow 'odoo-scrap-reported'"))
        #expect(outcomes[0].failures.first?.hasPrefix("expected a delivery to flow 'odoo-production-completed'") == true)
        #expect(outcomes[1].failures.first == "expected a rejection, but the event is valid")
    }
}
