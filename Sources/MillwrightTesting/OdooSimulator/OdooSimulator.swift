import Foundation
import MillwrightCore
import NIOCore
import NIOHTTP1
import NIOPosix
import Synchronization

/// How to start an ``OdooSimulator``.
public struct OdooSimulatorConfiguration: Sendable {
    /// The address to bind; the simulator only ever listens on loopback.
    public var host: String = "127.0.0.1"
    /// 0 picks a free port; read ``OdooSimulator/port`` after start.
    public var port: Int = 0
    /// The one database (`X-Odoo-Database`); any other name answers Odoo's HTML 404.
    public var database: String = "mfg"
    /// API key of `admin` (uid 2), who may do everything.
    public var adminAPIKey: String = "simulated-admin-api-key"
    /// API key of `mes-bridge` (uid 7), an internal user without manufacturing rights.
    public var mesBridgeAPIKey: String = "simulated-mes-bridge-api-key"
    /// The time written into `write_date`, `date_done` and the like (UTC).
    public var clock: @Sendable () -> Date = { Date() }

    public init() {}
}

/// A protocol-faithful stand-in for an Odoo 19 server: JSON-2, JSON-RPC and `/web/version` over real HTTP,
/// with a small in-memory database seeded like Odoo's demo data and faults injectable per call.
///
/// ```swift
/// try await withOdooSimulator { odoo in
///     let client = OdooClient(baseURL: odoo.baseURL, database: odoo.database, apiKey: odoo.adminAPIKey)
///     odoo.inject(.serializationFailure, model: "mrp.production", method: "button_mark_done")
///     …
///     #expect(odoo.onHand(productCode: "FURN_7023") == 2)
/// }
/// ```
/// What it covers and where it differs from real Odoo: `docs/odoo-simulator.md`.
public final class OdooSimulator: Sendable {
    let core: OdooSimulatorCore
    private let group: MultiThreadedEventLoopGroup
    private let channel: any Channel
    /// The bound port.
    public let port: Int

    public var configuration: OdooSimulatorConfiguration { core.configuration }
    /// `http://127.0.0.1:<port>`, without a trailing slash.
    public var baseURL: String { "http://\(core.configuration.host):\(port)" }
    public var database: String { core.configuration.database }
    public var adminAPIKey: String { core.configuration.adminAPIKey }
    public var mesBridgeAPIKey: String { core.configuration.mesBridgeAPIKey }
    /// The uid of `admin` (2) and of `mes-bridge` (7).
    public static let adminUID = Seed.adminUID
    public static let mesBridgeUID = Seed.mesBridgeUID

    private init(core: OdooSimulatorCore, group: MultiThreadedEventLoopGroup, channel: any Channel, port: Int) {
        self.core = core
        self.group = group
        self.channel = channel
        self.port = port
    }

    /// Binds the server and seeds the database.
    /// - Throws: when the address cannot be bound.
    public static func start(_ configuration: OdooSimulatorConfiguration = OdooSimulatorConfiguration()) async throws -> OdooSimulator {
        let core = OdooSimulatorCore(configuration: configuration)
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        do {
            let channel = try await ServerBootstrap(group: group)
                .serverChannelOption(ChannelOptions.backlog, value: 256)
                .serverChannelOption(ChannelOptions.socketOption(.so_reuseaddr), value: 1)
                .childChannelInitializer { channel in
                    channel.eventLoop.makeCompletedFuture {
                        try channel.pipeline.syncOperations.configureHTTPServerPipeline()
                        try channel.pipeline.syncOperations.addHandler(OdooHTTPHandler(core: core, sender: OdooWebhookSender(group: group)))
                    }
                }
                .bind(host: configuration.host, port: configuration.port)
                .get()
            let port = channel.localAddress?.port ?? configuration.port
            return OdooSimulator(core: core, group: group, channel: channel, port: port)
        } catch {
            try? await group.shutdownGracefully()
            throw error
        }
    }

    /// Closes the listener and stops the event loop.
    public func shutdown() async throws {
        try? await channel.close()
        try await group.shutdownGracefully()
    }

    // MARK: Faults

    /// Queues a fault for the next `times` calls matching `model`/`method` (nil matches any).
    /// Faults fire in the order they were injected.
    public func inject(_ fault: OdooSimulatedFault, model: String? = nil, method: String? = nil, times: Int = 1) {
        guard times > 0 else { return }
        core.state.withLock { $0.faults.append(OdooFaultRule(fault: fault, model: model, method: method, remaining: times)) }
    }

    /// Faults not yet consumed.
    /// Forgets every fault still queued (the outage is over).
    public func clearFaults() {
        core.state.withLock { $0.faults.removeAll() }
    }

    public var pendingFaults: Int { core.state.withLock { $0.faults.reduce(0) { $0 + $1.remaining } } }

    // MARK: Webhooks (base_automation)

    /// While on, webhooks the automation rules fire are dropped instead of sent: a webhook lost on the
    /// way, or Millwright down when Odoo posted (Odoo neither retries nor notices).
    public func dropWebhooks(_ drop: Bool) {
        core.state.withLock { $0.dropWebhooks = drop }
    }

    /// Sends the webhooks fired by calls made with ``call(_:_:ids:_:)`` (calls over HTTP send theirs
    /// before they answer, as Odoo does) and returns them with their outcome.
    @discardableResult
    public func flushWebhooks() async -> [OdooWebhookCall] {
        await core.flushWebhooks(OdooWebhookSender(group: group))
    }

    /// Every webhook sent or dropped so far, in order.
    public var webhookLog: [OdooWebhookCall] { core.state.withLock { $0.webhooks } }

    // MARK: Inspection

    /// Every call so far, in order of arrival.
    public var callLog: [OdooCallRecord] { core.state.withLock { $0.calls } }

    /// The records of a model, by id, read as JSON-2 `read` returns them (many2one as `[id, "name"]`).
    public func records(model: String) -> [Int: [String: JSONValue]] {
        core.state.withLock { state in
            let db = state.database
            var out: [Int: [String: JSONValue]] = [:]
            for id in db.ids(model) {
                out[id] = (try? db.readRecord(model, id, fields: db.allFields(model), context: OdooContext(nil)))?.objectValue
            }
            return out
        }
    }

    /// One record read as JSON-2 `read` returns it, or nil.
    public func record(model: String, id: Int) -> [String: JSONValue]? {
        core.state.withLock { state in
            let db = state.database
            guard db.exists(model, id) else { return nil }
            return (try? db.readRecord(model, id, fields: db.allFields(model), context: OdooContext(nil)))?.objectValue
        }
    }

    /// The id of the product with this internal reference (`FURN_7023`), or nil.
    public func productID(code: String) -> Int? {
        core.state.withLock { state in
            state.database.ids("product.product").first { state.database.string("product.product", $0, "default_code") == code }
        }
    }

    /// On-hand quantity of a product at a location (by full name, children included), optionally of one lot.
    public func onHand(productCode: String, location: String = "WH/Stock", lot: String? = nil) -> Decimal {
        quants(productCode: productCode).filter { quant in
            (quant.location == location || quant.location.hasPrefix(location + "/")) && (lot == nil || quant.lot == lot)
        }.reduce(Decimal(0)) { $0 + $1.quantity }
    }

    /// Every quant of a product: location, lot, quantity and reserved quantity.
    public func quants(productCode: String) -> [OdooQuantSnapshot] {
        core.state.withLock { state in
            let db = state.database
            return db.ids("stock.quant").compactMap { quant in
                guard let product = db.int("stock.quant", quant, "product_id"),
                      db.string("product.product", product, "default_code") == productCode,
                      let location = db.int("stock.quant", quant, "location_id") else { return nil }
                return OdooQuantSnapshot(id: quant, location: db.displayName("stock.location", location),
                                         lot: db.int("stock.quant", quant, "lot_id").map { db.displayName("stock.lot", $0) },
                                         quantity: db.decimal("stock.quant", quant, "quantity"), reserved: db.reservedQuantity(quant))
            }
        }
    }

    /// Sets on-hand stock the way an applied inventory count does (the difference goes to "Inventory adjustment").
    /// A missing lot is created. For arranging a test; over HTTP use `stock.quant/create` in inventory mode.
    /// - Throws: ``OdooSimulatorCallError`` (404 `MissingError`) when the product or location does not exist.
    public func setOnHand(productCode: String, quantity: Decimal, location: String = "WH/Stock", lot: String? = nil) throws {
        try core.state.withLock { state in
            var db = state.database
            db.now = OdooSimulatorCore.timestamp(core.configuration.clock())
            guard let product = db.ids("product.product").first(where: { db.string("product.product", $0, "default_code") == productCode }),
                  let place = db.ids("stock.location").first(where: { db.string("stock.location", $0, "complete_name") == location }) else {
                throw OdooSimulatorCallError(status: 404, name: "odoo.exceptions.MissingError",
                                             message: "no product '\(productCode)' or location '\(location)' in the simulator")
            }
            var lotID: Int?
            if let lot {
                lotID = db.ids("stock.lot").first { db.string("stock.lot", $0, "name") == lot && db.int("stock.lot", $0, "product_id") == product }
                    ?? db.insert("stock.lot", ["name": .string(lot), "product_id": .int(product), "company_id": false])
            }
            let quant = db.quant(product: product, location: place, lot: lotID) ?? db.insert("stock.quant", [
                "product_id": .int(product), "location_id": .int(place), "lot_id": lotID.map { .int($0) } ?? .bool(false),
                "quantity": .number("0"), "inventory_quantity": .number("0"), "inventory_quantity_set": false, "in_date": .string(db.now),
            ])
            db.applyInventory(quant, counted: quantity)
            state.database = db
        }
    }

    /// Calls a method directly, as admin, without HTTP (for arranging state in tests).
    /// - Throws: ``OdooSimulatorCallError`` with Odoo's error name and message.
    @discardableResult
    public func call(_ model: String, _ method: String, ids: [Int]? = nil, _ kwargs: [String: JSONValue] = [:]) throws -> JSONValue {
        do {
            return try core.execute(model: model, method: method, ids: ids, kwargs: kwargs, uid: Seed.adminUID)
        } catch let fault as OdooFault {
            throw OdooSimulatorCallError(status: fault.status, name: fault.name, message: fault.message)
        }
    }
}

/// A quant as tests see it.
public struct OdooQuantSnapshot: Sendable, Equatable {
    public var id: Int
    public var location: String
    public var lot: String?
    public var quantity: Decimal
    public var reserved: Decimal
}

/// An Odoo error raised by ``OdooSimulator/call(_:_:ids:_:)``.
public struct OdooSimulatorCallError: Error, Sendable, Equatable {
    public var status: Int
    public var name: String
    public var message: String
}

/// Starts a simulator, runs `body` with it and shuts it down, also when `body` throws.
public func withOdooSimulator<Result: Sendable>(
    _ configuration: OdooSimulatorConfiguration = OdooSimulatorConfiguration(),
    _ body: (OdooSimulator) async throws -> Result
) async throws -> Result {
    let simulator = try await OdooSimulator.start(configuration)
    do {
        let result = try await body(simulator)
        try await simulator.shutdown()
        return result
    } catch {
        try? await simulator.shutdown()
        throw error
    }
}
