import Foundation
import Logging
import Metrics
import MillwrightCore

/// The ingest path after decoding: append through group commit, count and log every outcome.
public struct Ingestor: Sendable {
    public let decoder: EventDecoder
    let committer: GroupCommitter
    let metricsFactory: any MetricsFactory
    let logger: Logger
    /// Rung after new events are committed: the delivery router's doorbell, so routing starts at once
    /// instead of at its next poll.
    let appended: Doorbell?

    public init(decoder: EventDecoder, committer: GroupCommitter, metricsFactory: any MetricsFactory, logger: Logger, appended: Doorbell? = nil) {
        self.decoder = decoder
        self.committer = committer
        self.metricsFactory = metricsFactory
        self.logger = logger
        self.appended = appended
    }

    /// Appends validated events durably; returns one outcome per event, in order.
    public func ingest(_ events: [NewEvent]) async throws -> [AppendOutcome] {
        let outcomes = try await committer.append(events)
        if let appended, outcomes.contains(where: { if case .created = $0 { true } else { false } }) { appended.ring() }
        for (event, outcome) in zip(events, outcomes) {
            let name: String
            var logger = logger
            logger[metadataKey: "mw.event.id"] = "\(event.event.id)"
            logger[metadataKey: "mw.event.source"] = "\(event.event.source)"
            logger[metadataKey: "mw.event.type"] = "\(event.event.type)"
            if let subject = event.event.subject { logger[metadataKey: "mw.subject"] = "\(subject)" }
            switch outcome {
            case .created(let stored):
                name = "created"
                logger.debug("event appended", metadata: ["mw.event.seq": "\(stored.seq)"])
            case .duplicate(let stored):
                name = "duplicate"
                logger.debug("duplicate event: already stored, nothing changed", metadata: ["mw.event.seq": "\(stored.seq)"])
            case .conflict(let existing, let conflictID):
                name = "conflict"
                logger.warning("conflicting event: same source and id as a stored event, different content; kept for inspection", metadata: [
                    "mw.event.seq": "\(existing.seq)", "mw.conflict.id": "\(conflictID)",
                ])
            }
            count(type: event.event.type, outcome: name)
        }
        return outcomes
    }

    /// Counts an event refused before it reached the log (validation, unknown type).
    public func recordRejected(type: String?, errors: [FieldError]) {
        // Unknown types are not used as label values: a hostile client could grow the label set without bound.
        let label = type.flatMap { decoder.catalogue.spec($0) != nil ? $0 : nil } ?? "unknown"
        count(type: label, outcome: "rejected")
        logger.debug("event rejected", metadata: ["mw.event.type": "\(label)", "mw.errors": "\(errors.count)"])
    }

    func count(type: String, outcome: String) {
        Counter(label: "mw_events_ingested_total", dimensions: [("type", type), ("outcome", outcome)], factory: metricsFactory).increment()
    }
}
