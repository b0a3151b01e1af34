import ArgumentParser
import Foundation
import MillwrightAPI
import MillwrightCore
import MillwrightServer

struct DataOption: ParsableArguments {
    @Option(help: "The node's data directory (as given to 'millwright serve').")
    var data: String = "./data"
}

/// Runs `body` on the node's store and closes it, turning known failures into clear messages.
func withGovernance<T>(_ data: String, _ body: (Governance) async throws -> T) async throws -> T {
    let (governance, store): (Governance, any Store)
    do {
        (governance, store) = try LocalAdministration.open(dataDirectory: data)
    } catch let error as ConfigurationError {
        throw CLIError("\(error)")
    }
    do {
        let result = try await body(governance)
        try await store.close()
        return result
    } catch let failure as Governance.Failure {
        try? await store.close()
        throw CLIError(failure.message)
    } catch {
        try? await store.close()
        throw error
    }
}

/// `90d`, `24h`, `30m`, `45s` or plain seconds.
func parseDuration(_ text: String) throws -> TimeInterval {
    let units: [Character: TimeInterval] = ["s": 1, "m": 60, "h": 3600, "d": 86_400]
    if let last = text.last, let unit = units[last], let n = Double(text.dropLast()), n >= 0 { return n * unit }
    if let n = Double(text), n >= 0 { return n }
    throw ValidationError("'\(text)' is not a duration: use 90d, 24h, 30m, 45s or seconds")
}

struct Tokens: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Manage service accounts' tokens (works with or without a running server).",
        subcommands: [Create.self, List.self, Rotate.self, Revoke.self]
    )

    struct Create: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Issue a token for a service account (created if new). Prints the token once.")

        @Option(help: "Service account name, e.g. mes-bridge.") var name: String
        @Option(help: "A scope (repeat): events:publish:mfg.production.*, events:read, role:viewer, admin …") var scope: [String] = []
        @Option(help: "Lifetime, e.g. 90d. Default: no expiry.") var expiresIn: String?
        @OptionGroup var data: DataOption

        func run() async throws {
            let expiresAt = try expiresIn.map { Date().addingTimeInterval(try parseDuration($0)) }
            let issued = try await withGovernance(data.data) { g in
                try await g.issueToken(account: name, scopes: scope, expiresAt: expiresAt, by: LocalAdministration.localActor)
            }
            print(issued.token)
            FileHandle.standardError.write(Data("""
                token \(issued.record.prefix) for '\(name)' with scopes \(issued.record.scopes.joined(separator: " "))\(issued.record.expiresAt.map { ", expires \(RFC3339.format($0))" } ?? "").
                It is shown once: store it now.

                """.utf8))
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List tokens (never their secrets).")

        @Option(help: "Only this service account.") var name: String?
        @OptionGroup var data: DataOption

        func run() async throws {
            let tokens = try await withGovernance(data.data) { g in try await g.store.tokens(account: name) }
            let now = Date()
            print("PREFIX        ACCOUNT          STATE     CREATED                   EXPIRES                   SCOPES")
            for t in tokens {
                let state = t.revokedAt != nil ? "revoked" : (t.expiresAt.map { $0 <= now } ?? false) ? "expired" : "active"
                print([
                    t.prefix.padding(toLength: 13, withPad: " ", startingAt: 0),
                    t.name.padding(toLength: 16, withPad: " ", startingAt: 0),
                    state.padding(toLength: 9, withPad: " ", startingAt: 0),
                    RFC3339.format(t.createdAt).padding(toLength: 25, withPad: " ", startingAt: 0),
                    (t.expiresAt.map(RFC3339.format) ?? "never").padding(toLength: 25, withPad: " ", startingAt: 0),
                    t.scopes.joined(separator: " "),
                ].joined(separator: " "))
            }
        }
    }

    struct Rotate: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Issue a successor; the old token stays valid for --overlap, then expires.")

        @Argument(help: "Token id or prefix (mw_…).") var token: String
        @Option(help: "How long the old token keeps working, e.g. 24h.") var overlap: String = "24h"
        @OptionGroup var data: DataOption

        func run() async throws {
            let overlapSeconds = try parseDuration(overlap)
            let issued = try await withGovernance(data.data) { g in
                try await g.rotate(token, overlap: overlapSeconds, by: LocalAdministration.localActor)
            }
            print(issued.token)
            FileHandle.standardError.write(Data("successor \(issued.record.prefix) issued; \(token) stops working in \(overlap).\n".utf8))
        }
    }

    struct Revoke: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Revoke a token at once.")

        @Argument(help: "Token id or prefix (mw_…).") var token: String
        @OptionGroup var data: DataOption

        func run() async throws {
            let revoked = try await withGovernance(data.data) { g in try await g.revoke(token, by: LocalAdministration.localActor) }
            print("revoked \(revoked.prefix) (\(revoked.name))")
        }
    }
}

struct Audit: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "The tamper-evident audit log.",
        subcommands: [Verify.self]
    )

    struct Verify: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Check the hash chain; exits 1 and names the entry if anything was changed, removed or reordered.")

        @OptionGroup var data: DataOption

        func run() async throws {
            let result = try await withGovernance(data.data) { g in try await g.verifyAudit() }
            print(result.description)
            if case .broken = result { throw ExitCode(1) }
        }
    }
}
