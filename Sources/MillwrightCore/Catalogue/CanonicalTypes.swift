import Foundation

/// A canonical event's `data` as a Swift value. Decode it with ``CanonicalCoding/decoder`` after the
/// catalogue has validated the event; the field rules live in ``Catalogue`` (one definition), and
/// `CanonicalTypesTests` proves every struct carries exactly the catalogue's fields.
public protocol CanonicalEventData: Codable, Sendable, Hashable {
    static var eventType: String { get }
}

/// JSON coding for canonical data: snake_case keys, `Decimal` quantities.
public enum CanonicalCoding {
    public static var decoder: JSONDecoder {
        let d = JSONDecoder()
        d.keyDecodingStrategy = .convertFromSnakeCase
        return d
    }

    public static var encoder: JSONEncoder {
        let e = JSONEncoder()
        e.keyEncodingStrategy = .convertToSnakeCase
        e.outputFormatting = [.sortedKeys]
        return e
    }

    /// Decodes a validated event's data as `T`.
    public static func decode<T: CanonicalEventData>(_ type: T.Type, from data: JSONValue) throws -> T {
        try decoder.decode(T.self, from: Data(data.canonicalText.utf8))
    }

    /// Every Swift type of the catalogue, by event type.
    public static let types: [String: any CanonicalEventData.Type] = Dictionary(
        uniqueKeysWithValues: allTypes.map { ($0.eventType, $0) }
    )

    static let allTypes: [any CanonicalEventData.Type] = [
        ProductUpserted.self, EngineeringChangeReleased.self, ProductionOrderReleased.self,
        ProductionOrderStatusChanged.self, OperationCompleted.self, ProductionCompleted.self, MaterialConsumed.self,
        ScrapReported.self, InventoryCounted.self, StockMoved.self, GoodsReceived.self, ShipmentDispatched.self,
        LotCreated.self, QualityInspectionRecorded.self, QualityHoldPlaced.self, QualityHoldReleased.self,
        EquipmentDowntimeStarted.self, EquipmentDowntimeEnded.self, EquipmentCondition.self,
        MaintenanceRequested.self, MaintenanceCompleted.self, OdooRecordChanged.self,
    ]
}

/// A product line: component or received goods.
public struct ProductLine: Codable, Sendable, Hashable {
    public var product: ProductReference
    public var quantity: Decimal
    public var uom: UnitCode
    public var lot: LotReference?
}

/// A scalar reading or characteristic value: number, text or boolean.
public enum ScalarValue: Codable, Sendable, Hashable {
    case number(Decimal), text(String), boolean(Bool)

    public init(from decoder: any Decoder) throws {
        let c = try decoder.singleValueContainer()
        if let b = try? c.decode(Bool.self) { self = .boolean(b) }
        else if let d = try? c.decode(Decimal.self) { self = .number(d) }
        else { self = .text(try c.decode(String.self)) }
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.singleValueContainer()
        switch self {
        case .number(let d): try c.encode(d)
        case .text(let s): try c.encode(s)
        case .boolean(let b): try c.encode(b)
        }
    }
}

public struct ProductUpserted: CanonicalEventData {
    public static let eventType = "mfg.product.upserted.v1"
    public enum Kind: String, Codable, Sendable { case goods, service, combo }
    public enum Tracking: String, Codable, Sendable { case none, lot, serial }
    public var product: ProductReference
    public var name: String
    public var uom: UnitCode
    public var type: Kind?
    public var tracking: Tracking?
    public var barcode: String?
    public var category: String?
}

public struct EngineeringChangeReleased: CanonicalEventData {
    public static let eventType = "mfg.engineering_change.released.v1"
    public struct Component: Codable, Sendable, Hashable {
        public var product: ProductReference
        public var quantity: Decimal
        public var uom: UnitCode
    }
    public var product: ProductReference
    public var revision: String
    public var components: [Component]
    public var effectiveFrom: String?
}

public struct ProductionOrderReleased: CanonicalEventData {
    public static let eventType = "mfg.production_order.released.v1"
    public var order: OrderReference
    public var product: ProductReference
    public var quantity: Decimal
    public var uom: UnitCode
    public var workCenter: WorkCenterReference?
    public var scheduledStart: String?
    public var scheduledEnd: String?
    public var components: [EngineeringChangeReleased.Component]?
    public var operations: [PlannedOperation]?

    /// One work order of the order, in sequence.
    public struct PlannedOperation: Codable, Sendable, Hashable {
        public var operation: String
        public var workCenter: WorkCenterReference?
        public var durationExpectedMinutes: Decimal?
    }
}

/// Canonical workflow states of a production order.
public enum OrderState: String, Codable, Sendable, CaseIterable {
    case released, inProgress = "in_progress", blocked, completed, quarantined, closed, cancelled
}

public struct ProductionOrderStatusChanged: CanonicalEventData {
    public static let eventType = "mfg.production_order.status_changed.v1"
    public var order: OrderReference
    public var state: OrderState
    public var nativeState: String?
    public var reason: String?
}

public struct OperationCompleted: CanonicalEventData {
    public static let eventType = "mfg.operation.completed.v1"
    public var order: OrderReference
    public var operation: String
    public var workCenter: WorkCenterReference?
    public var quantityGood: Decimal?
    public var quantityScrap: Decimal?
    public var uom: UnitCode?
    public var durationMinutes: Decimal?
    public var `operator`: String?
}

public struct ProductionCompleted: CanonicalEventData {
    public static let eventType = "mfg.production.completed.v1"
    public struct ProducedLot: Codable, Sendable, Hashable {
        public var lot: LotReference
        public var quantity: Decimal
    }
    public struct Scrap: Codable, Sendable, Hashable {
        public var product: ProductReference
        public var quantity: Decimal
        public var uom: UnitCode
        public var reason: String?
    }
    public var order: OrderReference
    public var quantity: Decimal
    public var uom: UnitCode
    public var final: Bool?
    public var product: ProductReference?
    public var lots: [ProducedLot]?
    public var consumed: [ProductLine]?
    public var scrap: [Scrap]?
}

public struct MaterialConsumed: CanonicalEventData {
    public static let eventType = "mfg.material.consumed.v1"
    public var order: OrderReference
    public var product: ProductReference
    public var quantity: Decimal
    public var uom: UnitCode
    public var lot: LotReference?
    public var location: LocationReference?
}

public struct ScrapReported: CanonicalEventData {
    public static let eventType = "mfg.scrap.reported.v1"
    public var product: ProductReference
    public var quantity: Decimal
    public var uom: UnitCode
    public var location: LocationReference?
    public var lot: LotReference?
    public var order: OrderReference?
    public var reason: String?
}

public struct InventoryCounted: CanonicalEventData {
    public static let eventType = "mfg.inventory.counted.v1"
    public var product: ProductReference
    public var location: LocationReference
    public var quantity: Decimal
    public var uom: UnitCode
    public var lot: LotReference?
    public var countedAt: String?
}

public struct StockMoved: CanonicalEventData {
    public static let eventType = "mfg.stock.moved.v1"
    public var product: ProductReference
    public var quantity: Decimal
    public var uom: UnitCode
    public var fromLocation: LocationReference
    public var toLocation: LocationReference
    public var lot: LotReference?
    public var reference: String?
}

public struct GoodsReceived: CanonicalEventData {
    public static let eventType = "mfg.goods.received.v1"
    public var purchaseOrder: String
    public var lines: [ProductLine]
}

public struct ShipmentDispatched: CanonicalEventData {
    public static let eventType = "mfg.shipment.dispatched.v1"
    public var picking: String
    public var carrier: String?
    public var trackingRef: String?
    public var lines: [ProductLine]?
}

public struct LotCreated: CanonicalEventData {
    public static let eventType = "mfg.lot.created.v1"
    public var lot: LotReference
    public var product: ProductReference
    public var parentLots: [LotReference]?
    public var expirationDate: String?
}

public struct QualityInspectionRecorded: CanonicalEventData {
    public static let eventType = "mfg.quality.inspection.recorded.v1"
    public enum Result: String, Codable, Sendable { case pass, fail }
    public struct Characteristic: Codable, Sendable, Hashable {
        public var name: String?
        public var value: ScalarValue?
        public var unit: String?
        public var lower: Decimal?
        public var upper: Decimal?
    }
    public var inspection: String
    public var result: Result
    public var order: OrderReference?
    public var product: ProductReference?
    public var lot: LotReference?
    public var characteristics: [Characteristic]?
}

public struct QualityHoldPlaced: CanonicalEventData {
    public static let eventType = "mfg.quality.hold.placed.v1"
    public var hold: String
    public var reason: String
    public var order: OrderReference?
    public var lot: LotReference?
    public var product: ProductReference?
    public var location: LocationReference?
}

public struct QualityHoldReleased: CanonicalEventData {
    public static let eventType = "mfg.quality.hold.released.v1"
    public enum Disposition: String, Codable, Sendable { case release, rework, scrap }
    public var hold: String
    public var disposition: Disposition?
}

public struct EquipmentDowntimeStarted: CanonicalEventData {
    public static let eventType = "mfg.equipment.downtime.started.v1"
    public var equipment: EquipmentReference
    public var startedAt: String
    public var reasonCode: String?
    public var workCenter: WorkCenterReference?
    public var order: OrderReference?
}

public struct EquipmentDowntimeEnded: CanonicalEventData {
    public static let eventType = "mfg.equipment.downtime.ended.v1"
    public var equipment: EquipmentReference
    public var endedAt: String
    public var reasonCode: String?
}

public struct EquipmentCondition: CanonicalEventData {
    public static let eventType = "mfg.equipment.condition.v1"
    public var equipment: EquipmentReference
    public var measuredAt: String
    public var readings: [String: ScalarValue]
    public var status: String?
}

public struct MaintenanceRequested: CanonicalEventData {
    public static let eventType = "mfg.maintenance.requested.v1"
    public enum Kind: String, Codable, Sendable { case corrective, preventive }
    public var equipment: EquipmentReference
    public var title: String
    public var kind: Kind?
    public var priority: Int?
    public var order: OrderReference?
    public var description: String?
}

public struct MaintenanceCompleted: CanonicalEventData {
    public static let eventType = "mfg.maintenance.completed.v1"
    public var equipment: EquipmentReference
    public var request: String?
    public var completedAt: String?
    public var durationMinutes: Decimal?
}

/// An Odoo record changed (`mw.odoo.record_changed.v1`): a signal to read the record through the API.
public struct OdooRecordChanged: CanonicalEventData {
    public static let eventType = "mw.odoo.record_changed.v1"
    public var model: String
    public var recordId: Int
    public var action: String?
    public var fields: [String]?
}
