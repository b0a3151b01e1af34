import ArgumentParser
import Foundation
import MillwrightCore
import MillwrightServer

struct Flows: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Work with flow definitions (flows/*.yaml).",
        subcommands: [Lint.self, Test.self]
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
                throw failure("\(error)", exit: 1)
            }
        }
    }

    struct Test: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Run flow test cases (YAML): each event must make exactly the expected deliveries, or be rejected as expected.",
            discussion: "No server and no sink are needed. Exit status: 0 every case passed, 1 a case failed or a file has an error."
        )
        @Argument(help: "Test files or directories of *.yaml test files.") var paths: [String] = ["./flows/tests"]
        @Option(help: "The flows directory.") var flows = "./flows"

        func run() async throws {
            var failed = 0
            var total = 0
            do {
                let loaded = try FlowLoader(sinks: MillwrightNode.knownSinks).loadDirectory(flows).filter(\.enabled)
                let tester = FlowTester(flows: loaded)
                for file in try Self.files(paths) {
                    guard let text = try? String(contentsOfFile: file, encoding: .utf8) else { throw ValidationError("cannot read \(file)") }
                    for outcome in try tester.run(yaml: text, file: file) {
                        total += 1
                        if outcome.passed {
                            print("ok    \(outcome.name)")
                        } else {
                            failed += 1
                            print("FAIL  \(outcome.name) (\(outcome.place))")
                            for failure in outcome.failures { print("      \(failure)") }
                        }
                    }
                }
            } catch let error as ConfigurationError {
                throw failure("\(error)", exit: 1)
            }
            print("\(total - failed) of \(total) case(s) passed")
            if failed > 0 { throw ExitCode(1) }
        }

        static func files(_ paths: [String]) throws -> [String] {
            var result: [String] = []
            for path in paths {
                var isDirectory: ObjCBool = false
                guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else { throw ValidationError("\(path) does not exist") }
                if isDirectory.boolValue {
                    let names = try FileManager.default.contentsOfDirectory(atPath: path).filter { $0.hasSuffix(".yaml") || $0.hasSuffix(".yml") }.sorted()
                    result += names.map { (path as NSString).appendingPathComponent($0) }
                } else {
                    result.append(path)
                }
            }
            return result
        }
    }
}
