import ArgumentParser
import Foundation
import Logging
import MillwrightAPI
import MillwrightCore
import MillwrightOdoo
import MillwrightServer

struct Odoo: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Diagnose the Odoo connection.",
        discussion: """
            The connection comes from the odoo: section of --config and the MILLWRIGHT_ODOO_URL, \
            MILLWRIGHT_ODOO_DB, MILLWRIGHT_ODOO_LOGIN and MILLWRIGHT_ODOO_API_KEY environment variables.
            """,
        subcommands: [Check.self, Call.self, InstallWebhooks.self]
    )

    struct ConnectionOptions: ParsableArguments {
        @Option(help: "YAML configuration file with an odoo: section (see docs/configuration.md).")
        var config: String?

        /// The configuration file and environment; a mistake exits with status 2.
        func load() throws -> MillwrightConfiguration {
            var configuration = MillwrightConfiguration()
            do throws(ConfigurationError) {
                if let config {
                    guard let text = try? String(contentsOfFile: config, encoding: .utf8) else {
                        throw ConfigurationError(file: config, message: "cannot read the file")
                    }
                    try configuration.apply(yaml: text, file: config)
                }
                try configuration.apply(environment: ProcessInfo.processInfo.environment)
            } catch {
                throw failure("\(error)", exit: 2)
            }
            return configuration
        }

        func connect() async throws -> OdooClient {
            let configuration = try load()
            let settings: OdooSettings
            do throws(ConfigurationError) {
                guard let odoo = configuration.odoo else {
                    throw ConfigurationError(file: config ?? "environment", message: "no Odoo configured: set MILLWRIGHT_ODOO_URL, _DB, _LOGIN, _API_KEY or an odoo: section")
                }
                settings = try odoo.settings()
            } catch {
                throw failure("\(error)", exit: 2)
            }
            do {
                return try await OdooClient.connect(settings, logger: Logger(label: "millwright.odoo", factory: { _ in SwiftLogNoOpLogHandler() }))
            } catch {
                throw failure("\(error)", exit: 3)
            }
        }
    }

    struct Check: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Connect, print version, protocol and user, and check every access right the operations need.",
            discussion: "Exit status: 0 all rights present, 1 rights missing, 2 configuration error, 3 cannot connect or log in."
        )
        @OptionGroup var connection: ConnectionOptions

        func run() async throws {
            let client = try await connection.connect()
            defer { Task { await client.shutdown() } }
            let settings = client.settings
            print("Odoo       \(client.version) at \(settings.url), database \(settings.database)")
            print("protocol   \(client.protocolKind.rawValue)")
            var user = "\(settings.login) (uid \(client.uid))"
            if let record = try? await client.read("res.users", [client.uid], fields: ["name"]).first, let name = record.string("name") {
                user = "\(settings.login) = \(name) (uid \(client.uid))"
            }
            print("user       \(user)")
            print("")
            let report = try await OdooAccessCheck.run(client)
            print(report.table)
            if report.gaps.isEmpty {
                print("\nEvery right the operations need is present.")
            } else {
                print("\nMissing rights, and how to fix them:")
                for gap in report.gaps { print("  - \(gap)") }
                await client.shutdown()
                throw ExitCode(1)
            }
            await client.shutdown()
        }
    }

    struct Call: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Call one model method and print Odoo's answer (for diagnosis).",
            discussion: """
                ARGUMENTS is a JSON object of keyword arguments, as JSON-2 takes them: \
                millwright odoo call mrp.production search_read '{"domain":[["state","=","confirmed"]],"fields":["name"],"limit":5}'. \
                "ids" and "context" are passed as such on both protocols.
                """
        )
        @Argument(help: "Model, e.g. mrp.production.") var model: String
        @Argument(help: "Method, e.g. search_read.") var method: String
        @Argument(help: "Keyword arguments as a JSON object (default {}), or - to read them from stdin.") var arguments: String = "{}"
        @OptionGroup var connection: ConnectionOptions

        func run() async throws {
            let text = arguments == "-" ? String(decoding: FileHandle.standardInput.readDataToEndOfFile(), as: UTF8.self) : arguments
            let parsed: JSONValue
            do { parsed = try JSONParser().parse(text) } catch {
                throw failure("ARGUMENTS is not JSON: \(error)", exit: 2)
            }
            guard var kwargs = parsed.objectValue else {
                throw failure("ARGUMENTS must be a JSON object of keyword arguments", exit: 2)
            }
            var ids: [Int]?
            if let value = kwargs.removeValue(forKey: "ids") {
                guard let list = value.arrayValue, case let numbers = list.compactMap({ if case .number(let n) = $0 { Int(n) } else { nil } }), numbers.count == list.count else {
                    throw failure("\"ids\" must be a list of record ids", exit: 2)
                }
                ids = numbers
            }
            let context = kwargs.removeValue(forKey: "context")?.objectValue ?? [:]
            let client = try await connection.connect()
            do {
                let result = try await client.call(OdooCall(model, method, ids: ids, kwargs, context: context))
                print(result.canonicalText)
                await client.shutdown()
            } catch {
                throw failure("\(error)", exit: 1)
            }
        }
    }
}

extension Odoo {
    struct InstallWebhooks: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "install-webhooks",
            abstract: "Create or update the Odoo automation rules that tell Millwright an order or a product changed.",
            discussion: """
                One rule per model (mrp.production on a change of state, product.product on any change), each with a \
                webhook action that posts to <url>/v1/hooks/<source>/<secret>. The secret is the odoo hook source's, \
                from the hooks: section of --config. Rules are found again by their external id \
                (millwright.automation_<source>_<model>), so running this twice changes nothing. \
                Exit status: 0 done, 1 Odoo refused, 2 configuration error, 3 cannot connect or log in.
                """
        )
        @Option(help: "Millwright's base URL as Odoo reaches it, e.g. https://millwright.plant.local:8080.") var url: String
        @Option(help: "The hooks: source of kind odoo whose secret goes in the URL.") var source: String = "odoo"
        @Flag(help: "Keep the rules but switch them off (the poll alone then captures changes).") var disable = false
        @OptionGroup var connection: ConnectionOptions

        func run() async throws {
            let configuration = try connection.load()
            let hooks: [HookSource]
            do { hooks = try configuration.resolvedHooks(environment: ProcessInfo.processInfo.environment) } catch {
                throw failure("\(error)", exit: 2)
            }
            guard let hook = hooks.first(where: { $0.name == source }), case .odoo(let secret) = hook.verification else {
                throw failure("no hook source '\(source)' of kind odoo in the configuration: add one under hooks: (see docs/security.md)", exit: 2)
            }
            guard let base = URL(string: url), base.scheme == "http" || base.scheme == "https", base.host != nil else {
                throw failure("--url must be an http(s) URL, e.g. http://millwright.plant.local:8080", exit: 2)
            }
            let trimmed = url.hasSuffix("/") ? String(url.dropLast()) : url
            let hookURL = "\(trimmed)/v1/hooks/\(source)/\(secret)"
            let client = try await connection.connect()
            do {
                let outcomes = try await OdooWebhookInstaller(client: client).install(url: hookURL, source: source, active: !disable)
                for outcome in outcomes { print(outcome) }
                print("Webhooks post to \(trimmed)/v1/hooks/\(source)/<secret>\(disable ? " (rules switched off)" : "").")
                await client.shutdown()
            } catch {
                await client.shutdown()
                throw failure("\(error)", exit: 1)
            }
        }
    }
}

/// Writes `error: <message>` to standard error and returns the exit code to throw.
func failure(_ message: String, exit code: Int32) -> ExitCode {
    FileHandle.standardError.write(Data("error: \(message)\n".utf8))
    return ExitCode(code)
}
