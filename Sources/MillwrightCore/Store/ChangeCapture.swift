import Foundation

/// What change capture last emitted for one record of a source system (an Odoo production order or
/// product), so that a restart neither emits a change again nor misses one.
public struct CapturedRecord: Sendable, Hashable, Codable {
    /// The source system's model (`mrp.production.group` for a plant order, `mrp.production` for an order
    /// without a group, `product.product`).
    public var model: String
    public var recordID: Int
    /// The record's `write_date` when it was last captured, as the source system wrote it.
    public var writeDate: String
    /// The last canonical state emitted (orders), or `nil` before the first one.
    public var state: String?
    /// Whether `released` was emitted (orders).
    public var released: Bool
    /// A digest of the last canonical payload emitted (products), to emit an unchanged record once.
    public var digest: String?

    public init(model: String, recordID: Int, writeDate: String, state: String? = nil, released: Bool = false, digest: String? = nil) {
        self.model = model
        self.recordID = recordID
        self.writeDate = writeDate
        self.state = state
        self.released = released
        self.digest = digest
    }
}

/// Change capture's durable state: per model, the watermark of the poll (the highest `write_date` seen),
/// and per record, what was last emitted. Kept in the store's database, next to the event log.
public protocol ChangeCaptureStore: Sendable {
    func captureWatermark(model: String) async throws -> String?
    func setCaptureWatermark(model: String, writeDate: String) async throws
    func capturedRecord(model: String, recordID: Int) async throws -> CapturedRecord?
    func recordCaptured(_ record: CapturedRecord) async throws
}
