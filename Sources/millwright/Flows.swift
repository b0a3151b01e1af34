import ArgumentParser
import Foundation
import MillwrightCore
import MillwrightServer

struct Flows: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Work with flow definitions (flows/*.yaml).",
        subcommands: [Lint.self]
    )

    struct Lint: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Check every flow file strictly; print each flow, or the first error with file:line:column.",
            discussion: "Exit status: 0 all flows valid, 1 an error was found."
        )
        @Argument(help: "The flows directory.") var directory = "./flows"

        func run() async throws {
            do {
                let flows = try FlowLoader(sinks: MillwrightNode.knownSinks).loadDirectory(directory)
                for flow in flows {
                    let state = flow.enabled ? "" : "  (disabled)"
                    print("\(flow.name): \(flow.types.joined(separator: ",")) -> \(flow.sink).\(flow.operation) [\(flow.priority.rawValue)]\(state)")
                }
                print("\(flows.count) flow(s) valid in \(directory)")
            } catch {
                FileHandle.standardError.write(Data("error: \(error)\n".utf8))
                throw ExitCode(1)
            }
        }
    }
}
