import Foundation
import MillwrightCore

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// One folder a file-sink flow writes to (`files:` in millwright.yaml; flows say `sink: file`,
/// `operation: <target name>`).
public struct FileTarget: Sendable, Hashable {
    public enum Format: String, Sendable, Hashable, CaseIterable {
        /// One CloudEvents JSON envelope per line.
        case jsonl
        /// A header line, then one row per event with the declared columns.
        case csv
    }

    /// A CSV column: its header and the JSON pointer into the event it reads (`/data/order`).
    public struct Column: Sendable, Hashable {
        public var name: String
        public var pointer: JSONPointer
        public init(name: String, pointer: JSONPointer) {
            self.name = name
            self.pointer = pointer
        }
    }

    public var name: String
    public var folder: String
    public var format: Format
    public var columns: [Column]
    /// File names start with this (default: the target's name).
    public var prefix: String

    public init(name: String, folder: String, format: Format, columns: [Column] = [], prefix: String? = nil) {
        self.name = name
        self.folder = folder
        self.format = format
        self.columns = columns
        self.prefix = prefix ?? name
    }
}

/// The file sink: writes events into a folder for legacy systems that read files.
///
/// Every delivery (one event, or one micro-batch) becomes one file, `<prefix>-<seq>.<jsonl|csv>` (a batch:
/// `<prefix>-<first seq>-<last seq>.<ext>`; piece n of a split event: `<prefix>-<seq>.<n>.<ext>`), written as `.<name>.tmp`, flushed to disk (fsync), then renamed
/// into place and the folder synced: a reader never sees a half-written file, only whole ones. An event
/// already written (recorded in the store's operation journal under `file/<target>/<source>/<id>`) is not
/// written again, so a redelivery or a replay adds no line. See docs/webhooks.md#file-sink.
public struct FileSink: Sink {
    public let name = "file"
    public let targets: [String: FileTarget]
    public var operations: Set<String> { Set(targets.keys) }
    let journal: any DeliveryStore
    let now: @Sendable () -> Date

    public enum Code {
        /// No target of that name is configured.
        public static let unknownTarget = "MW-FILE-0001"
        /// The folder cannot be written (missing, permissions, disk full): retried.
        public static let writeFailed = "MW-FILE-0002"
    }

    public init(targets: [FileTarget], journal: any DeliveryStore, now: @escaping @Sendable () -> Date = { Date() }) {
        self.targets = Dictionary(targets.map { ($0.name, $0) }, uniquingKeysWith: { first, _ in first })
        self.journal = journal
        self.now = now
    }

    public func deliver(_ event: StoredEvent, operation: String) async -> SinkOutcome {
        await deliverBatch([event], operation: operation).first ?? .permanent(code: Code.unknownTarget, message: "nothing written")
    }

    public func deliverBatch(_ events: [StoredEvent], operation: String) async -> [SinkOutcome] {
        guard let target = targets[operation] else {
            return events.map { _ in .permanent(code: Code.unknownTarget, message: "no file target '\(operation)' is configured (files: in millwright.yaml)") }
        }
        var fresh: [StoredEvent] = []
        var written: [Int64: String] = [:]
        do {
            for event in events {
                if let file = try await journal.journalPlan(key: Self.journalKey(target, event)) { written[event.seq] = file } else { fresh.append(event) }
            }
            guard let first = fresh.first, let last = fresh.last else {
                return events.map { .alreadyApplied("already in \(written[$0.seq] ?? "a file")") }
            }
            let ext = target.format.rawValue
            let file = fresh.count == 1
                ? "\(target.prefix)-\(first.seq)\(Self.pieceSuffix(first)).\(ext)" : "\(target.prefix)-\(first.seq)-\(last.seq).\(ext)"
            try Self.writeAtomically(Data(render(fresh, target).utf8), folder: target.folder, name: file)
            for event in fresh { try await journal.recordJournalPlan(key: Self.journalKey(target, event), plan: file, at: now()) }
            return events.map { event in
                if let previous = written[event.seq] { return .alreadyApplied("already in \(previous)") }
                return .applied("written to \(file)")
            }
        } catch {
            return events.map { _ in .transient(code: Code.writeFailed, message: "cannot write to \(target.folder): \(error)", retryAfter: nil) }
        }
    }

    /// `.2` for the second piece of a split event (the engine names pieces `<id>#2`, keeping the envelope's
    /// `id`), so that each piece is its own file; `""` for a whole event.
    static func pieceSuffix(_ event: StoredEvent) -> String {
        guard let mark = event.id.lastIndex(of: "#"), let piece = Int(event.id[event.id.index(after: mark)...]),
            let envelopeID = (try? JSONParser(maxDepth: 512).parse(event.envelope))?["id"]?.stringValue,
            envelopeID == String(event.id[..<mark])
        else { return "" }
        return ".\(piece)"
    }

    static func journalKey(_ target: FileTarget, _ event: StoredEvent) -> String {
        "file/\(target.name)/\(event.source)/\(event.id)"
    }

    /// The file's text: JSON lines, or a CSV header and rows (RFC 4180 quoting, CRLF line ends).
    func render(_ events: [StoredEvent], _ target: FileTarget) -> String {
        switch target.format {
        case .jsonl:
            return events.map { event in
                ((try? JSONParser(maxDepth: 512).parse(event.envelope))?.canonicalText ?? event.envelope) + "\n"
            }.joined()
        case .csv:
            var lines = [target.columns.map { Self.csvField($0.name) }.joined(separator: ",")]
            for event in events {
                let envelope = (try? JSONParser(maxDepth: 512).parse(event.envelope)) ?? .null
                lines.append(target.columns.map { column in
                    let text: String
                    switch column.pointer.resolve(in: envelope) {
                    case .none, .some(.null): text = ""
                    case .some(.string(let s)): text = s
                    case .some(.number(let n)): text = n
                    case .some(.bool(let b)): text = b ? "true" : "false"
                    case .some(let other): text = other.canonicalText
                    }
                    return Self.csvField(text)
                }.joined(separator: ","))
            }
            return lines.joined(separator: "\r\n") + "\r\n"
        }
    }

    static func csvField(_ text: String) -> String {
        guard text.contains(where: { $0 == "," || $0 == "\"" || $0 == "\r" || $0 == "\n" }) else { return text }
        return "\"" + text.replacingOccurrences(of: "\"", with: "\"\"") + "\""
    }

    struct WriteError: Error, CustomStringConvertible {
        var description: String
    }

    /// Writes `.<name>.tmp`, fsyncs it, renames it to `name` and fsyncs the folder.
    static func writeAtomically(_ data: Data, folder: String, name: String) throws {
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        let temporary = (folder as NSString).appendingPathComponent("." + name + ".tmp")
        let final = (folder as NSString).appendingPathComponent(name)
        let fd = open(temporary, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        guard fd >= 0 else { throw WriteError(description: "open \(temporary): \(String(cString: strerror(errno)))") }
        var ok = true
        data.withUnsafeBytes { raw in
            var offset = 0
            while offset < raw.count, ok {
                let n = write(fd, raw.baseAddress.map { $0 + offset }, raw.count - offset)
                if n <= 0 { ok = false } else { offset += n }
            }
        }
        let synced = fsync(fd) == 0
        close(fd)
        guard ok, synced else {
            unlink(temporary)
            throw WriteError(description: "write \(temporary): \(String(cString: strerror(errno)))")
        }
        guard rename(temporary, final) == 0 else {
            unlink(temporary)
            throw WriteError(description: "rename to \(final): \(String(cString: strerror(errno)))")
        }
        let directory = open(folder, O_RDONLY)
        if directory >= 0 {
            _ = fsync(directory)
            close(directory)
        }
    }
}
