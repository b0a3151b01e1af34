import Foundation
import MillwrightCore
import MillwrightFiles
import MillwrightServer
import Testing

/// Flows to the webhook and file sinks, the `files:` section, and a retry schedule in YAML.
@Suite struct OutboundSinkConfigurationTests {
    @Test func flowsNameASubscriptionOrAFileTargetAndMayPublishASchedule() throws {
        let loader = FlowLoader(sinks: ["webhook": ["sub_abc"], "file": ["erp-export"]])
        let webhook = try loader.load(yaml: """
            name: to-mes
            match: {types: ["mfg.production.*"]}
            sink: webhook
            operation: sub_abc
            retry: {schedule: [0s, 5s, 5m, 30m]}
            """, file: "f.yaml")
        #expect(webhook.retry == RetryPolicy(schedule: [0, 5, 300, 1_800]))
        #expect(webhook.retry.maxAttempts == 4)
        let file = try loader.load(yaml: "name: to-erp\nmatch: {types: [mfg.production.completed.v1]}\nsink: file\noperation: erp-export\n", file: "g.yaml")
        #expect(file.sink == "file" && file.operation == "erp-export")

        #expect(throws: ConfigurationError.self) {
            try loader.load(yaml: "name: x\nmatch: {types: [a]}\nsink: webhook\noperation: sub_nope\n", file: "h.yaml")
        }
        do {
            _ = try loader.load(yaml: "name: x\nmatch: {types: [a]}\nsink: webhook\noperation: sub_abc\nretry: {schedule: [0s], max_attempts: 3}\n", file: "i.yaml")
            Issue.record("a schedule with max_attempts was accepted")
        } catch {
            #expect(error.description.hasPrefix("i.yaml:5:8: retry is either schedule"))
        }
        // `flows lint` (no running node) accepts any subscription id or file target name.
        #expect(MillwrightNode.knownSinks["webhook"] == ["*"])
        let linted = try FlowLoader(sinks: MillwrightNode.knownSinks).load(yaml: "name: x\nmatch: {types: [a]}\nsink: webhook\noperation: sub_any\n", file: "j.yaml")
        #expect(linted.operation == "sub_any")
    }

    @Test func fileTargetsAreReadStrictly() throws {
        var c = MillwrightConfiguration()
        try c.apply(yaml: """
            files:
              erp-export:
                folder: /var/exchange/erp
                format: csv
                columns:
                  order: /data/order
                  qty: /data/quantity
                prefix: completions
              lines:
                folder: ./out
                format: jsonl
            webhooks: {concurrency: 4, timeout_seconds: 30}
            """, file: "m.yaml")
        #expect(c.files.map(\.name) == ["erp-export", "lines"])
        #expect(c.files.first?.columns.map(\.name) == ["order", "qty"], "columns keep their order")
        #expect(c.files.first?.columns.last?.pointer == "/data/quantity")
        #expect(c.files.first?.prefix == "completions")
        #expect(c.files.last?.prefix == "lines")
        #expect(c.webhookConcurrency == 4 && c.webhookTimeoutSeconds == 30)

        expectConfigurationMistake("files:\n  x:\n    folder: a\n    format: csv\n", file: "m.yaml", startsWith: "m.yaml:3:5: a csv file target needs 'columns'")
        expectConfigurationMistake("files:\n  x:\n    folder: a\n    format: xml\n", file: "m.yaml", startsWith: "m.yaml:4:13: expected one of jsonl, csv")
        expectConfigurationMistake("files:\n  x:\n    folder: a\n    format: jsonl\n    colums: {a: /b}\n", file: "m.yaml", startsWith: "m.yaml:5:5: unknown key 'colums' (did you mean 'columns'?)")
        expectConfigurationMistake("webhooks: {timeout_seconds: 0}\n", file: "m.yaml", startsWith: "m.yaml:1:29: must be from 1 to 300")
    }
}
