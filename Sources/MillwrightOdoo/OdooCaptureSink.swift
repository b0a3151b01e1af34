import Foundation
import MillwrightCore

/// The webhook path of change capture as a flow sink: an Odoo `base_automation` signal
/// (`mw.odoo.record_changed.v1`) makes ``OdooChangeCapture`` read the record and emit its canonical
/// events. Through a flow, a signal gets the delivery engine's retries, dead letters and tracing.
public struct OdooCaptureSink: Sink {
    public let name = "odoo-capture"
    public static let operationNames: Set<String> = ["record.fetch"]
    public var operations: Set<String> { Self.operationNames }
    let capture: @Sendable () async throws(OdooError) -> OdooChangeCapture

    public init(capture: @escaping @Sendable () async throws(OdooError) -> OdooChangeCapture) {
        self.capture = capture
    }

    public func deliver(_ event: StoredEvent, operation: String) async -> SinkOutcome {
        guard Self.operationNames.contains(operation) else {
            return .permanent(code: "MW-FLOW-0005", message: "the odoo-capture sink has no operation '\(operation)'")
        }
        guard event.type == OdooRecordChanged.eventType else {
            return .permanent(code: "MW-FLOW-0006", message: "odoo-capture operation '\(operation)' takes \(OdooRecordChanged.eventType), not \(event.type)")
        }
        let signal: OdooRecordChanged
        do {
            let envelope = try JSONParser(maxDepth: 512).parse(event.envelope)
            signal = try CanonicalCoding.decode(OdooRecordChanged.self, from: envelope["data"] ?? .null)
        } catch {
            return .permanent(code: "MW-FLOW-0001", message: "the signal's data does not decode as \(OdooRecordChanged.eventType): \(error)")
        }
        guard OdooChangeCapture.models.contains(signal.model) else {
            return .alreadyApplied("\(signal.model) is not captured: nothing to do")
        }
        do {
            let result = try await capture().recordChanged(model: signal.model, id: signal.recordId)
            if let skipped = result.skipped.first {
                return .permanent(code: "MW-ODOO-0016", message: skipped)
            }
            let summary = "\(signal.model) \(signal.recordId) read; \(result.emitted) event(s) emitted"
            return result.emitted > 0 ? .applied(summary) : .alreadyApplied("\(signal.model) \(signal.recordId) read; no change to emit")
        } catch let error as OdooError {
            if error.retryable {
                return .transient(code: error.code, message: error.message, retryAfter: error.retryAfter.map(TimeInterval.init))
            }
            return .permanent(code: error.code, message: error.message)
        } catch {
            return .transient(code: "MW-ODOO-0009", message: "change capture failed: \(error)", retryAfter: nil)
        }
    }
}
