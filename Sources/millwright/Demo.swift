import ArgumentParser
import AsyncHTTPClient
import Foundation
import HTTPTypes
import Hummingbird
import Logging
import MillwrightCore
import MillwrightOdoo
import MillwrightServer
import MillwrightTesting
import MillwrightWebhooks
import MillwrightSQLite
import NIOCore
import NIOHTTP1
import ServiceLifecycle
import Synchronization

/// `millwright demo`: the whole loop on one machine. Odoo (the simulator, or a real one) → change capture →
/// `released` → a webhook subscription → an embedded plant → its events → the flows → Odoo, then a
/// summary that compares what the plant reported with what Odoo shows.
struct Demo: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run the whole loop on one machine: Odoo (simulated unless MILLWRIGHT_ODOO_URL is set), Millwright, and a simulated plant.",
        discussion: """
            The planner creates and confirms production orders in Odoo. Change capture emits \
            mfg.production_order.released.v1; a webhook subscription delivers it, signed, to the plant; the plant \
            answers with operation completions, consumption, a partial and a final completion (with lots for \
            lot-tracked products), scrap, and for one order a machine downtime. The built-in flows post them to \
            Odoo. Exit 0 when Odoo shows exactly what the plant reported and nothing is a dead letter.
            """
    )

    @Option(help: "Production orders to plan.") var orders = 3
    @Option(help: "Units per order.") var quantity = 4
    @Option(help: "Seconds between two plant events of one order.") var pace = 0.1
    @Option(help: "Give up after this many seconds.") var timeout = 55.0
    @Option(help: "The built-in flows.") var flows = "flows"

    func run() async throws {
        var logger = Logger(label: "demo")
        logger.logLevel = .critical
        let start = ContinuousClock.now
        let say: @Sendable (String) -> Void = { line in
            let elapsed = ContinuousClock.now - start
            let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
            FileHandle.standardOutput.write(Data((String(format: "+%5.1fs  ", seconds) + line + "\n").utf8))
        }

        // Odoo: the simulator in this process, or the real one of the environment.
        let found = OdooTarget.environment(ProcessInfo.processInfo.environment)
        let target = if let found { found } else { try await OdooTarget.simulator() }
        let (odooURL, database, login, apiKey) = (target.url, target.database, target.login, target.apiKey)
        let client = try await OdooClient.connect(OdooSettings(url: odooURL, database: database, login: login, apiKey: apiKey, callsPerSecond: nil))
        let ops = OdooOperations(client: client)
        say("Odoo \(client.version) at \(odooURL)\(target.simulator == nil ? "" : " (the simulator)")")

        // Millwright: a node as `serve` builds it, on a temporary data directory and a free port.
        let data = FileManager.default.temporaryDirectory.appendingPathComponent("millwright-demo-\(UUID().uuidString)").path
        let token = "mw_demo_admin_" + UUID().uuidString.replacingOccurrences(of: "-", with: "").lowercased()
        var configuration = MillwrightConfiguration()
        configuration.dataDirectory = data
        configuration.flowsDirectory = flows
        configuration.host = "127.0.0.1"
        var odoo = OdooConfiguration()
        odoo.url = odooURL
        odoo.database = database
        odoo.login = login
        odoo.apiKey = .environment("MW_DEMO_ODOO_API_KEY")
        odoo.capture.pollIntervalSeconds = 1
        configuration.odoo = odoo
        let node = try await InProcessNode.start(
            configuration: configuration, environment: ["MW_DEMO_ODOO_API_KEY": apiKey, "MILLWRIGHT_ADMIN_TOKEN": token], delivery: true, logger: logger)

        // The plant: receives released orders on a webhook, verifies the signature, and works them.
        let plant = Plant(say: say, pace: pace, quantity: quantity)
        let plantPort = Mutex<Int?>(nil)
        let (plantReady, plantReadyContinuation) = AsyncStream<Void>.makeStream()
        let plantRouter = Router()
        plantRouter.post("/released") { request, _ -> Response in
            let body = try await request.body.collect(upTo: 1 << 20)
            return await plant.receive(headers: request.headers, body: Array(buffer: body))
        }
        let plantApp = Application(
            router: plantRouter, configuration: .init(address: .hostname("127.0.0.1", port: 0), serverName: "plant"),
            onServerRunning: { channel in
                plantPort.withLock { $0 = channel.localAddress?.port }
                plantReadyContinuation.finish()
            }, logger: logger)
        let group = ServiceGroup(configuration: .init(services: [plantApp], logger: logger))
        let running = Task { try await group.run() }
        for await _ in plantReady {}
        guard let plantAt = plantPort.withLock({ $0 }) else {
            await group.triggerGracefulShutdown()
            try await node.stop()
            throw ValidationError("the plant did not start")
        }
        let api = API(base: node.baseURL, token: token)
        say("Millwright on \(api.base) (data \(data)), \(node.flowCount) flows; the plant listens on 127.0.0.1:\(plantAt)")

        var exit: Int32 = 1
        do {
            // The plant subscribes to released orders.
            let subscription = try await api.post("/v1/subscriptions", [
                "url": .string("http://127.0.0.1:\(plantAt)/released"), "types": ["mfg.production_order.released.v1"],
                "description": "the demo plant", "ordered": true,
            ])
            guard let secret = subscription["secret"]?.stringValue, let id = subscription["id"]?.stringValue else {
                throw ValidationError("the subscription answer has no id or secret")
            }
            try plant.configure(secret: secret, api: api)
            say("plant subscribed to mfg.production_order.released.v1 (subscription \(id), Standard Webhooks signature)")

            // The planner: stock for the components, then orders, confirmed in Odoo.
            let planned = try await Planner(client: client, ops: ops, say: say).plan(orders: orders, quantity: quantity)
            plant.expect(planned)
            let equipment = try await client.searchRead("maintenance.equipment", [], fields: ["name", "serial_no"], order: "id", limit: 1).first
            plant.setEquipment(equipment?.string("serial_no") ?? equipment?.string("name"))

            // Follow Millwright's own record of what it did, until every order is reported and delivered.
            let watcher = Watcher(api: api, say: say)
            let deadline = ContinuousClock.now + .seconds(timeout)
            while ContinuousClock.now < deadline {
                try await watcher.poll()
                if plant.finished, try await watcher.idle() { break }
                try await Task.sleep(for: .milliseconds(200))
            }
            try await watcher.poll()
            exit = try await Summary(ops: ops, client: client, api: api, plant: plant, say: say).report(planned: planned, finished: plant.finished)
        } catch {
            say("error: \(error)")
        }
        await group.triggerGracefulShutdown()
        _ = try? await running.value
        try? await node.stop()
        await client.shutdown()
        await target.shutdown()
        try? FileManager.default.removeItem(atPath: data)
        if exit != 0 { throw ExitCode(exit) }
    }
}

/// Millwright's HTTP API, with the demo's admin token.
struct API: Sendable {
    let base: String
    let token: String

    func request(_ method: NIOHTTP1.HTTPMethod, _ path: String, _ body: JSONValue?, contentType: String = "application/json") async throws -> (Int, JSONValue) {
        var request = HTTPClientRequest(url: base + path)
        request.method = method
        request.headers.add(name: "Authorization", value: "Bearer \(token)")
        if let body {
            request.headers.add(name: "Content-Type", value: contentType)
            request.body = .bytes(ByteBuffer(string: body.canonicalText))
        }
        let response = try await HTTPClient.shared.execute(request, timeout: .seconds(30))
        let bytes = try await response.body.collect(upTo: 16 << 20)
        let text = String(buffer: bytes)
        let json = text.isEmpty ? JSONValue.null : ((try? JSONParser().parse(text)) ?? .string(text))
        return (Int(response.status.code), json)
    }

    func post(_ path: String, _ body: JSONValue, contentType: String = "application/json") async throws -> JSONValue {
        let (status, json) = try await request(.POST, path, body, contentType: contentType)
        guard (200..<300).contains(status) else { throw ValidationError("POST \(path) answered \(status): \(json.canonicalText.prefix(400))") }
        return json
    }

    func get(_ path: String) async throws -> JSONValue {
        let (status, json) = try await request(.GET, path, nil)
        guard (200..<300).contains(status) else { throw ValidationError("GET \(path) answered \(status): \(json.canonicalText.prefix(400))") }
        return json
    }
}

/// Orders planned in Odoo.
struct PlannedOrder: Sendable {
    let name: String
    let product: String
    let lotTracked: Bool
}

/// Plays the planner: stocks the components and creates and confirms orders, as Odoo's users do.
struct Planner {
    let client: OdooClient
    let ops: OdooOperations
    let say: @Sendable (String) -> Void
    /// Wood panels (no tracking) and drawers (lot-tracked, with lot-tracked components).
    static let products: [(code: String, lot: Bool)] = [("FURN_7023", false), ("FURN_8855", true)]

    func plan(orders: Int, quantity: Int) async throws -> [PlannedOrder] {
        let run = String(UInt32.random(in: 0..<UInt32.max), radix: 36).uppercased()
        for (code, lot) in [("FURN_7111", nil), ("FURN_8111", nil), ("FURN_2100", "DEMO-\(run)-A"), ("FURN_5623", "DEMO-\(run)-B")] as [(String, String?)] {
            var data: JSONValue = ["product": .string(code), "location": "WH/Stock", "quantity": 10_000, "uom": "H87"]
            if let lot, case .object(var o) = data { o["lot"] = .string(lot); data = .object(o) }
            _ = try await ops.countInventory(try CanonicalCoding.decode(InventoryCounted.self, from: data), key: "demo-\(run)-\(code)")
        }
        say("planner: stocked the components (FURN_7111, FURN_8111; lots of FURN_2100 and FURN_5623)")
        var planned: [PlannedOrder] = []
        for i in 0..<orders {
            let (code, lot) = Self.products[i % Self.products.count]
            let product = try requireValue(try await client.searchRead("product.product", [.array(["default_code", "=", .string(code)])], fields: ["id"]).first?.id)
            var vals: [String: JSONValue] = ["product_id": .number(String(product)), "product_qty": .number(String(quantity)), "origin": .string("millwright demo \(run)")]
            // Drawers are made on the BoM with operations (demo "SEC-ASSEM": Packing, Testing, Long time
            // assembly), so the plant's operation reports have work orders to go to.
            if code == "FURN_8855", let bom = try await bomWithOperations(product) { vals["bom_id"] = .number(String(bom)) }
            let id = try requireValue(try await client.create("mrp.production", [vals]).first)
            _ = try await client.call("mrp.production", "action_confirm", ids: [id])
            let name = try requireValue(try await client.read("mrp.production", [id], fields: ["name"]).first?.string("name"))
            planned.append(PlannedOrder(name: name, product: code, lotTracked: lot))
            say("planner: \(name) for \(quantity) × \(code) created and confirmed in Odoo")
        }
        return planned
    }

    /// A BoM of the product (Odoo keeps BoMs per template) that has operations.
    func bomWithOperations(_ product: Int) async throws -> Int? {
        let boms = try await client.searchRead("mrp.bom", [.array(["product_tmpl_id.product_variant_ids", "in", .array([.number(String(product))])])],
                                               fields: ["operation_ids"], order: "sequence, id")
        return boms.first { !$0.ids("operation_ids").isEmpty }?.id
    }
}

func requireValue<T>(_ value: T?, _ what: String = "an answer Odoo should have given") throws -> T {
    guard let value else { throw ValidationError("missing \(what)") }
    return value
}

/// The simulated plant: for each released order, a production run of events posted to Millwright.
final class Plant: Sendable {
    struct State {
        var secret: StandardWebhooksSecret?
        var api: API?
        var expected: [String: PlannedOrder] = [:]
        var reported: [String: Int] = [:]
        var done: Set<String> = []
        var seen: Set<String> = []
        var equipment: String?
        var downtime: String?
        var scrapped: [String: Int] = [:]
        var rejectedSignatures = 0
    }

    let state = Mutex(State())
    let say: @Sendable (String) -> Void
    let pace: Double
    let quantity: Int

    init(say: @escaping @Sendable (String) -> Void, pace: Double, quantity: Int) {
        self.say = say
        self.pace = pace
        self.quantity = quantity
    }

    func configure(secret: String, api: API) throws {
        let parsed = try StandardWebhooksSecret(secret)
        state.withLock {
            $0.secret = parsed
            $0.api = api
        }
    }

    func expect(_ orders: [PlannedOrder]) { state.withLock { $0.expected = Dictionary(uniqueKeysWithValues: orders.map { ($0.name, $0) }) } }
    func setEquipment(_ equipment: String?) { state.withLock { $0.equipment = equipment } }
    var finished: Bool { state.withLock { !$0.expected.isEmpty && $0.done.isSuperset(of: $0.expected.keys) } }
    var reported: [String: Int] { state.withLock { $0.reported } }
    var scrapped: [String: Int] { state.withLock { $0.scrapped } }
    /// When the downtime the plant reported started (its maintenance request's title carries it).
    var downtime: String? { state.withLock { $0.downtime } }

    /// A webhook from Millwright: checked against the subscription's secret, then worked in the background.
    func receive(headers: HTTPFields, body: [UInt8]) async -> Response {
        func header(_ name: String) -> String { HTTPField.Name(name).flatMap { headers[$0] } ?? "" }
        let id = header("webhook-id")
        let timestamp = Int64(header("webhook-timestamp")) ?? 0
        let signatures = header("webhook-signature").split(separator: " ").map(String.init)
        guard let secret = state.withLock({ $0.secret }), signatures.contains(secret.sign(id: id, timestamp: timestamp, body: body)) else {
            state.withLock { $0.rejectedSignatures += 1 }
            return Response(status: .unauthorized)
        }
        guard let envelope = try? JSONParser().parse(String(decoding: body, as: UTF8.self)), let data = envelope["data"],
            let order = data["order"]?.stringValue
        else { return Response(status: .badRequest) }
        let fresh = state.withLock { $0.seen.insert(order).inserted }
        if fresh {
            let components = data["components"]?.arrayValue?.compactMap { $0["product"]?.stringValue } ?? []
            let operations = data["operations"]?.arrayValue?.compactMap { $0["operation"]?.stringValue } ?? []
            let routing = operations.isEmpty ? "" : ", operations \(operations.joined(separator: ", "))"
            say("plant: received \(order) released (\(data["quantity"]?.canonicalText ?? "?") × \(data["product"]?.stringValue ?? "?"), components \(components.joined(separator: ", "))\(routing)), signature verified")
            Task { await self.work(order: order, released: data) }
        }
        return Response(status: .noContent)
    }

    /// One production run: operations, consumption, a partial and a final completion, scrap, and for
    /// the second order a downtime on a machine.
    func work(order: String, released: JSONValue) async {
        guard let (api, planned, equipment) = state.withLock({ s in s.api.map { ($0, s.expected[order], s.equipment) } }), let planned else {
            say("plant: \(order) is not one of the demo's orders; ignored")
            state.withLock { _ = $0.done.insert(order) }
            return
        }
        let index = state.withLock { Array($0.expected.keys).sorted().firstIndex(of: order) ?? 0 }
        let firstComponent = released["components"]?.arrayValue?.first
        let partial = quantity / 2
        var sequence = 0
        func send(_ type: String, _ data: JSONValue, _ what: String) async {
            sequence += 1
            let envelope: JSONValue = [
                "specversion": "1.0", "id": .string("demo-\(order)-\(sequence)"), "source": "plant/demo-line", "type": .string(type),
                "subject": .string(order), "partitionkey": .string(order), "sequence": .string(String(sequence)), "data": data,
            ]
            do {
                _ = try await api.post("/v1/events", envelope, contentType: "application/cloudevents+json")
                say("plant: \(order)  \(what)")
            } catch {
                say("plant: \(order)  \(what) refused: \(error)")
            }
            try? await Task.sleep(for: .seconds(pace))
        }
        let lot = { (n: Int) -> JSONValue in planned.lotTracked ? [["lot": .string("LOT-\(order.replacingOccurrences(of: "/", with: "-"))-\(n)"), "quantity": .number(String(n == 1 ? partial : self.quantity - partial))]] : [] }
        // The operations Odoo planned (the released event lists the order's work orders), each reported
        // for the units of a completion, with the time it took and who did it.
        let operations = released["operations"]?.arrayValue ?? []
        func operate(_ good: Int, run: Int) async {
            for op in operations {
                guard let name = op["operation"]?.stringValue else { continue }
                var data: [String: JSONValue] = [
                    "order": .string(order), "operation": .string(name), "quantity_good": .number(String(good)), "uom": "H87",
                    "duration_minutes": .number(String(good * (10 + 5 * run))), "operator": .string(run == 1 ? "Anna" : "Ben"),
                ]
                if let center = op["work_center"] { data["work_center"] = center }
                await send("mfg.operation.completed.v1", .object(data), "operation \(name) done (\(good) good, \(good * (10 + 5 * run)) min)")
            }
        }
        await operate(partial, run: 1)
        if let component = firstComponent, let product = component["product"]?.stringValue {
            await send("mfg.material.consumed.v1", ["order": .string(order), "product": .string(product), "quantity": component["quantity"] ?? 1, "uom": component["uom"] ?? "H87"],
                       "consumed \(component["quantity"]?.canonicalText ?? "1") × \(product)")
        }
        var first: JSONValue = ["order": .string(order), "quantity": .number(String(partial)), "uom": "H87", "final": false]
        if planned.lotTracked, case .object(var o) = first { o["lots"] = lot(1); first = .object(o) }
        await send("mfg.production.completed.v1", first, "completed \(partial) of \(quantity) (partial\(planned.lotTracked ? ", lot LOT-…-1" : ""))")
        state.withLock { $0.reported[order, default: 0] += partial }
        if index % 2 == 0, let product = firstComponent?["product"]?.stringValue {
            await send("mfg.scrap.reported.v1", ["product": .string(product), "quantity": 1, "uom": "H87", "order": .string(order), "reason": "surface defect"], "scrapped 1 × \(product) (surface defect)")
            state.withLock { $0.scrapped[product, default: 0] += 1 }
        }
        if index == 1, let equipment {
            let started = RFC3339.format(Date())
            await send("mfg.equipment.downtime.started.v1", ["equipment": .string(equipment), "started_at": .string(started), "reason_code": "E-217", "order": .string(order)],
                       "downtime on \(equipment) (E-217)")
            state.withLock { $0.downtime = started }
        }
        await operate(quantity - partial, run: 2)
        var last: JSONValue = ["order": .string(order), "quantity": .number(String(quantity - partial)), "uom": "H87", "final": true]
        if planned.lotTracked, case .object(var o) = last { o["lots"] = lot(2); last = .object(o) }
        await send("mfg.production.completed.v1", last, "completed \(quantity - partial) more: final\(planned.lotTracked ? " (lot LOT-…-2)" : "")")
        state.withLock {
            $0.reported[order, default: 0] += quantity - partial
            _ = $0.done.insert(order)
        }
    }
}

/// Prints each delivery as Millwright records it (done or dead), from its own API.
final class Watcher: Sendable {
    let api: API
    let say: @Sendable (String) -> Void
    let printed = Mutex<Set<String>>([])

    init(api: API, say: @escaping @Sendable (String) -> Void) {
        self.api = api
        self.say = say
    }

    func poll() async throws {
        for state in ["retrying", "done", "dead"] {
            let page = try await api.get("/v1/deliveries?state=\(state)&limit=1000")
            for item in page["items"]?.arrayValue ?? [] {
                guard case .number(let n)? = item["id"] else { continue }
                // A retry is shown once per attempt; done and dead once.
                let key = state == "retrying" ? "\(n)/\(item["attempts"]?.canonicalText ?? "")" : "\(n)/\(state)"
                guard printed.withLock({ $0.insert(key).inserted }) else { continue }
                let flow = item["flow"]?.stringValue ?? "?"
                let text: String
                switch state {
                case "done": text = item["result"]?.stringValue ?? "done"
                case "dead": text = "DEAD: \(item["last_error"]?.stringValue ?? "")"
                default: text = "will retry (attempt \(item["attempts"]?.canonicalText ?? "?")): \(item["last_error"]?.stringValue ?? "")"
                }
                say("millwright: \(flow) → \(text)")
            }
        }
    }

    /// Nothing pending, retrying or in flight.
    func idle() async throws -> Bool {
        for state in ["pending", "retrying", "in_flight"] {
            if !(try await api.get("/v1/deliveries?state=\(state)&limit=1")["items"]?.arrayValue ?? []).isEmpty { return false }
        }
        return true
    }
}

/// What the plant reported, against what Odoo shows.
struct Summary {
    let ops: OdooOperations
    let client: OdooClient
    let api: API
    let plant: Plant
    let say: @Sendable (String) -> Void

    func report(planned: [PlannedOrder], finished: Bool) async throws -> Int32 {
        emit("\nSummary")
        emit("| order | product | plant reported | Odoo produced | Odoo orders (state) | match |")
        emit("|---|---|---:|---:|---|---|")
        var ok = finished
        let reported = plant.reported
        var workOrders: [String: [OdooRecord]] = [:]
        for order in planned {
            let chain = try await ops.findOrders(OrderQuery(name: OrderReference(rawValue: order.name)))
            let produced = chain.reduce(Decimal(0)) { $0 + $1.quantityProduced }
            let want = Decimal(reported[order.name] ?? 0)
            let allDone = !chain.isEmpty && chain.allSatisfy { $0.state == "done" }
            let match = produced == want && want > 0 && allDone
            ok = ok && match
            let states = chain.map { "\($0.name) \($0.state)" }.joined(separator: ", ")
            emit("| \(order.name) | \(order.product) | \(want) | \(produced) | \(states) | \(match ? "yes" : "NO") |")
            workOrders[order.name] = try await client.searchRead(
                "mrp.workorder", [.array(["production_id", "in", .array(chain.map { .number(String($0.id)) })])],
                fields: ["name", "state", "qty_produced", "duration", "production_id"], order: "id")
        }
        // Work orders: each operation done for the whole quantity across the chain, with the plant's time.
        for (name, records) in workOrders.sorted(by: { $0.key < $1.key }) where !records.isEmpty {
            emit("\nwork orders of \(name)")
            emit("| order | work order | state | done | minutes |")
            emit("|---|---|---|---:|---:|")
            for r in records {
                emit("| \(r.many2oneName("production_id") ?? "?") | \(r.string("name") ?? "?") | \(r.string("state") ?? "?") | \(r.decimal("qty_produced") ?? 0) | \(r.decimal("duration") ?? 0) |")
            }
            let want = Decimal(reported[name] ?? 0)
            for operation in Set(records.compactMap { $0.string("name") }) {
                let done = records.filter { $0.string("name") == operation && $0.string("state") == "done" }.reduce(Decimal(0)) { $0 + ($1.decimal("qty_produced") ?? 0) }
                let open = records.contains { $0.string("name") == operation && $0.string("state") != "done" && $0.string("state") != "cancel" }
                if done != want || open {
                    emit("operation \(operation) of \(name): \(done) done of \(want)\(open ? ", a work order still open" : "")")
                    ok = false
                }
            }
        }
        let dead = try await api.get("/v1/dead-letters?limit=100")["items"]?.arrayValue ?? []
        emit("\ndead letters: \(dead.count)")
        for d in dead { emit("  \(d["flow"]?.stringValue ?? "?"): \(d["last_error"]?.stringValue ?? "")") }
        emit("scrap reported: \(plant.scrapped.map { "\($0.value) × \($0.key)" }.sorted().joined(separator: ", "))")
        if let started = plant.downtime {
            let requests = try await client.searchRead("maintenance.request", [.array(["name", "ilike", .string(started)])], fields: ["name"])
            emit("maintenance requests for the downtime in Odoo: \(requests.count)")
            ok = ok && requests.count == 1
        }
        ok = ok && dead.isEmpty
        emit(ok ? "\nOdoo shows exactly what the plant reported." : "\nMISMATCH: see the table above.")
        return ok ? 0 : 1
    }
}

/// One line to standard output, unbuffered (the demo's lines interleave with its tasks' lines).
func emit(_ line: String) {
    FileHandle.standardOutput.write(Data((line + "\n").utf8))
}
