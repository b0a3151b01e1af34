import MillwrightCore
import MillwrightServer
import Testing

@Suite("Configuration")
struct ConfigurationTests {
    @Test func readsEverySetting() throws {
        var c = MillwrightConfiguration()
        try c.apply(yaml: """
            server:
              host: 0.0.0.0
              port: 9090
            data: /var/lib/millwright
            store:
              durability: normal
              commit_max_batch: 500
            limits:
              max_body_bytes: 2_097_152
              max_batch_events: 200
            metrics:
              require_token: true
            log:
              level: debug
            """, file: "millwright.yaml")
        #expect(c.host == "0.0.0.0" && c.port == 9090 && c.dataDirectory == "/var/lib/millwright")
        #expect(c.durability == .normal && c.commitMaxBatchEvents == 500)
        #expect(c.api.maxBodyBytes == 2_097_152 && c.api.maxBatchEvents == 200 && c.api.metricsRequireToken)
        #expect(c.logLevel == .debug)
    }

    @Test(arguments: [
        ("server:\n  prot: 80\n", "millwright.yaml:2:3: unknown key 'prot' (did you mean 'port'?)"),
        ("server:\n  port: eighty\n", "millwright.yaml:2:9: expected a whole number"),
        ("store:\n  durability: sometimes\n", "millwright.yaml:2:15: expected one of full, normal"),
        ("limits: 5\n", "millwright.yaml:1:9: expected a mapping of max_body_bytes, max_batch_events"),
        ("server:\n  port: 70000\n", "millwright.yaml:2:9: must be from 1 to 65535"),
        ("retries: 3\n", "millwright.yaml:1:1: unknown key 'retries'"),
    ])
    func mistakesNameTheirPlace(_ yaml: String, _ expected: String) {
        expectConfigurationMistake(yaml, file: "millwright.yaml", startsWith: expected)
    }

    @Test func brokenYAMLSaysWhere() {
        var c = MillwrightConfiguration()
        do {
            try c.apply(yaml: "server:\n  host: [a\n", file: "m.yaml")
            Issue.record("accepted broken YAML")
        } catch {
            #expect(error.line != nil && error.description.hasPrefix("m.yaml:"))
        }
    }

    @Test func environmentOverridesTheFile() throws {
        var c = MillwrightConfiguration()
        try c.apply(yaml: "server:\n  port: 9090\n", file: "m.yaml")
        try c.apply(environment: ["MILLWRIGHT_PORT": "9191", "MILLWRIGHT_DURABILITY": "normal", "MILLWRIGHT_MAX_BATCH_EVENTS": "50"])
        #expect(c.port == 9191 && c.durability == .normal && c.api.maxBatchEvents == 50)
        #expect(throws: ConfigurationError.self) { try c.apply(environment: ["MILLWRIGHT_PORT": "http"]) }
    }
}

@Suite("Configuration: Odoo change capture")
struct CaptureConfigurationTests {
    @Test func captureIsOnWithOdooAndReadsItsKeys() throws {
        var c = MillwrightConfiguration()
        try c.apply(yaml: """
            odoo:
              url: http://odoo:8069
              capture:
                poll_interval_seconds: 5
                overlap_seconds: 120
                page_size: 50
            """, file: "m.yaml")
        let capture = try #require(c.odoo?.capture)
        #expect(capture.enabled && capture.pollIntervalSeconds == 5 && capture.overlapSeconds == 120 && capture.pageSize == 50)
        try c.apply(environment: ["MILLWRIGHT_ODOO_CAPTURE": "false", "MILLWRIGHT_ODOO_CAPTURE_POLL_INTERVAL_SECONDS": "7"])
        #expect(c.odoo?.capture.enabled == false && c.odoo?.capture.pollIntervalSeconds == 7)
        #expect(MillwrightConfiguration().odoo == nil, "no odoo: section, no capture")
    }

    @Test(arguments: [
        ("odoo:\n  capture:\n    pol_interval_seconds: 5\n", "m.yaml:3:5: unknown key 'pol_interval_seconds' (did you mean 'poll_interval_seconds'?)"),
        ("odoo:\n  capture:\n    poll_interval_seconds: 0\n", "m.yaml:3:28: must be from 1 to 86400"),
        ("odoo:\n  capture:\n    enabled: maybe\n", "m.yaml:3:14: expected true or false"),
    ])
    func mistakesNameTheirPlace(_ yaml: String, _ expected: String) {
        expectConfigurationMistake(yaml, file: "m.yaml", startsWith: expected)
    }

    @Test func aBadEnvironmentValueIsRefused() throws {
        var c = MillwrightConfiguration()
        try c.apply(yaml: "odoo:\n  url: http://odoo:8069\n", file: "m.yaml")
        #expect(throws: ConfigurationError.self) { try c.apply(environment: ["MILLWRIGHT_ODOO_CAPTURE_POLL_INTERVAL_SECONDS": "soon"]) }
    }
}
