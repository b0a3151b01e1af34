import AsyncHTTPClient
import Foundation
import MillwrightCore
import MillwrightTesting
import NIOCore
import NIOHTTP1

/// What came back over HTTP.
struct SimulatorResponse: Sendable {
    var status: Int
    var contentType: String
    var headers: HTTPHeaders
    var text: String
    /// The body parsed as JSON, nil when it is not JSON (HTML pages).
    var json: JSONValue? { try? JSONParser().parse(text) }
}

/// A bare HTTP client for the simulator: the tests check the wire, not a connector's view of it.
struct SimulatorClient: Sendable {
    let simulator: OdooSimulator
    var apiKey: String

    init(_ simulator: OdooSimulator, apiKey: String? = nil) {
        self.simulator = simulator
        self.apiKey = apiKey ?? simulator.adminAPIKey
    }

    /// `POST /json/2/<model>/<method>` with the body as keyword arguments.
    func json2(_ model: String, _ method: String, _ body: JSONValue = [:]) async throws -> SimulatorResponse {
        try await send(method: .POST, path: "/json/2/\(model)/\(method)", body: body.canonicalText, headers: [
            ("Authorization", "bearer \(apiKey)"), ("X-Odoo-Database", simulator.database), ("Content-Type", "application/json"),
        ])
    }

    /// The JSON answer of a JSON-2 call that must succeed.
    func call(_ model: String, _ method: String, _ body: JSONValue = [:]) async throws -> JSONValue {
        let response = try await json2(model, method, body)
        guard response.status == 200, let json = response.json else {
            throw SimulatorTestError("\(model)/\(method) answered \(response.status): \(response.text.prefix(400))")
        }
        return json
    }

    func send(method: HTTPMethod, path: String, body: String?, headers: [(String, String)]) async throws -> SimulatorResponse {
        var request = HTTPClientRequest(url: simulator.baseURL + path)
        request.method = method
        for (name, value) in headers { request.headers.add(name: name, value: value) }
        if let body { request.body = .bytes(ByteBuffer(string: body)) }
        let response = try await HTTPClient.shared.execute(request, timeout: .seconds(30))
        let bytes = try await response.body.collect(upTo: 16 << 20)
        return SimulatorResponse(status: Int(response.status.code), contentType: response.headers.first(name: "Content-Type") ?? "",
                                 headers: response.headers, text: String(buffer: bytes))
    }
}

struct SimulatorTestError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

extension JSONValue {
    var int: Int? {
        if case .number(let text) = self { return Int(text) ?? Double(text).map { Int($0) } }
        return nil
    }

    var decimal: Decimal? {
        if case .number(let text) = self { return Decimal(string: text) }
        return nil
    }

    var first: JSONValue? { arrayValue?.first }

    /// `[id, "name"]` of a many2one.
    var many2oneName: String? { arrayValue.flatMap { $0.count == 2 ? $0[1].stringValue : nil } }
    var many2oneID: Int? { arrayValue.flatMap { $0.count == 2 ? $0[0].int : nil } }
}
