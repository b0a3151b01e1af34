import Hummingbird
import MillwrightCore

/// `GET /v1/schemas` and `GET /v1/schemas/{type}`: the catalogue as JSON Schema (draft 2020-12),
/// generated from the same definitions that validate events.
struct SchemaRoutes {
    let catalogue: Catalogue

    func register(on group: RouterGroup<MillwrightRequestContext>) {
        group.get("schemas") { _, context in
            try context.require("schemas:read")
            let items: [JSONValue] = catalogue.sortedTypes.map { spec in
                .object([
                    "type": .string(spec.type),
                    "summary": .string(spec.summary),
                    "from": .string(spec.direction.from),
                    "to": .string(spec.direction.to),
                    "schema": .string("/v1/schemas/\(spec.type)"),
                ])
            }
            return EventRoutes.json(JSONValue.object(["items": .array(items)]).canonicalText, status: .ok)
        }
        group.get("schemas/{type}") { _, context in
            try context.require("schemas:read")
            let type = context.parameters.get("type") ?? ""
            guard let spec = catalogue.spec(type) else {
                throw Problem(.notFound, code: ProblemCode.notFound, title: "Unknown event type",
                              detail: "No canonical type '\(type.prefix(128))'. GET /v1/schemas lists them.")
            }
            return Response(
                status: .ok, headers: [.contentType: "application/schema+json"],
                body: .init(byteBuffer: ByteBuffer(string: spec.jsonSchema(units: catalogue.units).canonicalText))
            )
        }
    }
}
