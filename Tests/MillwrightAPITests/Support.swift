import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Logging
import MillwrightAPI
import MillwrightCore
import MillwrightServer
import MillwrightSQLite
import NIOCore
import Testing

let adminToken = "mw_test0000_admin-secret-for-tests"

/// A node built on a fresh data directory, driven through HummingbirdTesting's router client.
func withNode<T: Sendable>(
    durability: Durability = .full,
    environment: [String: String] = [:],
    testing: TestingSetup = .router,
    now: @escaping @Sendable () -> Date = { Date() },
    configure: (inout MillwrightConfiguration) -> Void = { _ in },
    _ body: @Sendable (any TestClientProtocol, SQLiteStore) async throws -> T
) async throws -> T {
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("mw-api-\(UUID().uuidString)").path
    defer { try? FileManager.default.removeItem(atPath: dir) }
    var configuration = MillwrightConfiguration()
    configuration.dataDirectory = dir
    configuration.durability = durability
    configure(&configuration)
    var logger = Logger(label: "test")
    logger.logLevel = .critical
    let node = MillwrightNode(configuration: configuration, environment: environment.merging(["MILLWRIGHT_ADMIN_TOKEN": adminToken]) { _, new in new }, logger: logger)
    let parts = try await node.build(now: now)
    let app = Application(router: parts.router, services: [parts.committer], logger: logger)
    let store = parts.store
    let result = try await app.test(testing) { client in try await body(client, store) }
    try await store.close()
    return result
}

extension TestClientProtocol {
    /// Sends a request with the admin token (or `token`) and returns the response.
    @discardableResult
    func send(
        _ method: HTTPRequest.Method, _ uri: String, token: String? = adminToken,
        contentType: String? = "application/cloudevents+json", headers extra: [String: String] = [:], body: String? = nil
    ) async throws -> TestResponse {
        try await send(method, uri, token: token, contentType: contentType, headers: extra, bytes: body.map { Array($0.utf8) })
    }

    @discardableResult
    func send(
        _ method: HTTPRequest.Method, _ uri: String, token: String? = adminToken,
        contentType: String? = "application/cloudevents+json", headers extra: [String: String] = [:], bytes: [UInt8]?
    ) async throws -> TestResponse {
        var headers = HTTPFields()
        if let token { headers[.authorization] = "Bearer \(token)" }
        if let contentType { headers[.contentType] = contentType }
        for (name, value) in extra {
            if let field = HTTPField.Name(name) { headers[field] = value }
        }
        return try await execute(uri: uri, method: method, headers: headers, body: bytes.map { ByteBuffer(bytes: $0) })
    }
}

extension TestResponse {
    var text: String { String(buffer: body) }
    var json: JSONValue? { try? JSONParser().parse(body.readableBytesView) }
}

func completion(id: String, order: String = "WH/MO/00042", quantity: String = "5", source: String = "mes/plant-1") -> String {
    """
    {"specversion":"1.0","id":"\(id)","source":"\(source)","type":"mfg.production.completed.v1",
     "subject":"production-order/\(order)","time":"2026-11-22T10:15:00Z","partitionkey":"\(order)","sequence":"17",
     "datacontenttype":"application/json",
     "data":{"order":"\(order)","product":"FURN_8522","quantity":\(quantity),"uom":"H87","final":false,
             "lots":[{"lot":"LOT-2026-0042","quantity":\(quantity)}],
             "consumed":[{"product":"FURN_7800","quantity":10,"uom":"H87","lot":null}]}}
    """
}

func count(id: String, product: String = "FURN_7023", quantity: String = "12", time: String = "2026-11-22T10:15:00Z") -> String {
    """
    {"specversion":"1.0","id":"\(id)","source":"wms/1","type":"mfg.inventory.counted.v1","time":"\(time)",
     "data":{"product":"\(product)","location":"WH/Stock","quantity":\(quantity),"uom":"H87"}}
    """
}

func fixture(_ name: String) throws -> String {
    let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures/\(name)")
    return try String(contentsOf: url, encoding: .utf8)
}

/// Applying `yaml` must fail with an error that starts with `expected` (`file:line:col: message`).
func expectConfigurationMistake(_ yaml: String, file: String, startsWith expected: String, sourceLocation: SourceLocation = #_sourceLocation) {
    var c = MillwrightConfiguration()
    do {
        try c.apply(yaml: yaml, file: file)
        Issue.record("accepted \(yaml)", sourceLocation: sourceLocation)
    } catch {
        #expect(error.description.hasPrefix(expected), "\(error)", sourceLocation: sourceLocation)
    }
}
