import Foundation
import MillwrightCore
import Testing

@Suite("Canonical catalogue")
struct CatalogueTests {
    static let eventsMDTypes = [
        "mfg.product.upserted.v1", "mfg.engineering_change.released.v1", "mfg.production_order.released.v1",
        "mfg.production_order.status_changed.v1", "mfg.operation.completed.v1", "mfg.production.completed.v1",
        "mfg.material.consumed.v1", "mfg.scrap.reported.v1", "mfg.inventory.counted.v1", "mfg.stock.moved.v1",
        "mfg.goods.received.v1", "mfg.shipment.dispatched.v1", "mfg.lot.created.v1", "mfg.quality.inspection.recorded.v1",
        "mfg.quality.hold.placed.v1", "mfg.quality.hold.released.v1", "mfg.equipment.downtime.started.v1",
        "mfg.equipment.downtime.ended.v1", "mfg.equipment.condition.v1", "mfg.maintenance.requested.v1",
        "mfg.maintenance.completed.v1", "mw.odoo.record_changed.v1",
    ]

    let decoder = EventDecoder(catalogue: .v1)

    func envelope(_ type: String, _ data: JSONValue) -> JSONValue {
        ["specversion": "1.0", "id": "t-1", "source": "test", "type": .string(type), "data": data]
    }

    func reject(_ json: JSONValue) -> EventRejection? {
        do {
            _ = try decoder.decode(json)
            return nil
        } catch {
            return error
        }
    }

    @Test func holdsEveryTypeOfEventsMD() {
        #expect(Set(Catalogue.v1.types.keys) == Set(Self.eventsMDTypes))
        #expect(Set(CanonicalCoding.types.keys) == Set(Self.eventsMDTypes))
    }

    @Test("each type's full example is valid", arguments: eventsMDTypes)
    func exampleIsValid(_ type: String) throws {
        let spec = try #require(Catalogue.v1.spec(type))
        #expect(reject(envelope(type, spec.exampleData())) == nil)
    }

    @Test("each Swift type carries exactly the catalogue's fields", arguments: eventsMDTypes)
    func swiftTypeMatchesDefinition(_ type: String) throws {
        let spec = try #require(Catalogue.v1.spec(type))
        let swiftType = try #require(CanonicalCoding.types[type])
        let example = spec.exampleData()
        let decoded = try CanonicalCoding.decoder.decode(swiftType, from: Data(example.canonicalText.utf8))
        let reencoded = try JSONParser().parse(Array(CanonicalCoding.encoder.encode(decoded)))
        #expect(Set(reencoded.objectValue?.keys.map { $0 } ?? []) == Set(example.objectValue?.keys.map { $0 } ?? []))
    }

    @Test("each type's JSON Schema is draft 2020-12 and requires what validation requires", arguments: eventsMDTypes)
    func schemaMatchesDefinition(_ type: String) throws {
        let spec = try #require(Catalogue.v1.spec(type))
        let schema = spec.jsonSchema(units: .standard)
        #expect(schema["$schema"] == "https://json-schema.org/draft/2020-12/schema")
        #expect(schema["properties"]?["type"]?["const"] == .string(type))
        let required = Set((schema["properties"]?["data"]?["required"]?.arrayValue ?? []).compactMap(\.stringValue))
        #expect(required == Set(spec.fields.filter(\.required).map(\.name)))
        // A required field left out is rejected by validation too, with its pointer.
        for name in required {
            guard case .object(var data) = spec.exampleData() else { continue }
            data.removeValue(forKey: name)
            let errors = reject(envelope(type, .object(data)))?.errors ?? []
            #expect(errors.contains(FieldError(JSONPointer(rawValue: "/data/\(name)"), "is required")))
        }
    }

    @Test func reportsEveryErrorWithItsPointer() throws {
        let json = try JSONParser().parse(#"""
            {"specversion":"1.0","id":"x","source":"mes","type":"mfg.production.completed.v1",
             "data":{"order":"WH/MO/1","quantity":-5,"uom":"H87","final":"yes",
                     "consumed":[{"product":"A","quantity":1,"uom":"H87"},{"product":"B","quantity":2,"uom":"STK"}],
                     "lots":[{"quantity":1}]}}
            """#)
        let rejection = try #require(reject(json))
        #expect(rejection.kind == .invalidData)
        #expect(Set(rejection.errors.map(\.pointer)) == ["/data/quantity", "/data/final", "/data/consumed/1/uom", "/data/lots/0/lot"])
        let uom = try #require(rejection.errors.first { $0.pointer == "/data/consumed/1/uom" })
        #expect(uom.detail.contains("STK") && uom.detail.contains("H87"))
    }

    @Test func envelopeErrors() throws {
        let rejection = try #require(reject(["specversion": "0.3", "source": "", "type": "mfg.production.completed.v1", "time": "23.11.2026 06:03", "Bad_Name": 1, "data": [:]]))
        #expect(rejection.kind == .invalidEnvelope)
        #expect(Set(rejection.errors.map(\.pointer)) == ["/specversion", "/id", "/source", "/time", "/Bad_Name"])
    }

    @Test func unknownTypeNamesTheTypeField() throws {
        let rejection = try #require(reject(envelope("mfg.teleport.v1", [:])))
        #expect(rejection.kind == .unknownType)
        #expect(rejection.errors.map(\.pointer) == ["/type"])
    }

    @Test func unknownFieldsAreKeptNotRequired() throws {
        let event = try decoder.decode(envelope("mfg.inventory.counted.v1", [
            "product": "P", "location": "WH/Stock", "quantity": 0, "uom": "H87", "shelf_colour": "blue",
        ]))
        #expect(event.event.data?["shelf_colour"] == "blue")
        #expect(event.canonicalText.contains("shelf_colour"))
    }

    @Test func qualityHoldNeedsAScope() throws {
        let rejection = try #require(reject(envelope("mfg.quality.hold.placed.v1", ["hold": "H1", "reason": "crack"])))
        #expect(rejection.errors.map(\.pointer) == ["/data"])
        #expect(reject(envelope("mfg.quality.hold.placed.v1", ["hold": "H1", "reason": "crack", "lot": "L1"])) == nil)
    }

    @Test(arguments: ["1e400", "123456789012345678901", "1e-300", "1000000000000000"])
    func hostileNumbersAreValidationErrors(_ lexeme: String) throws {
        let rejection = try #require(reject(envelope("mfg.scrap.reported.v1", ["product": "P", "quantity": .number(lexeme), "uom": "H87"])))
        #expect(rejection.errors.map(\.pointer) == ["/data/quantity"])
    }

    @Test func businessKeysIncludeNestedReferences() throws {
        let event = try decoder.decode(envelope("mfg.production.completed.v1", [
            "order": "WH/MO/1", "quantity": 1, "uom": "H87", "product": "TOP",
            "lots": [["lot": "L1", "quantity": 1]], "consumed": [["product": "LEG", "quantity": 4, "uom": "H87", "lot": nil]],
        ]))
        #expect(event.keys == [
            BusinessKey(.order, "WH/MO/1"), BusinessKey(.product, "TOP"), BusinessKey(.lot, "L1"), BusinessKey(.product, "LEG"),
        ])
    }

    @Test func sameEventInAnyKeyOrderHasOneCanonicalForm() throws {
        let a = try decoder.decode(try JSONParser().parse(#"{"specversion":"1.0","id":"1","source":"s","type":"mfg.lot.created.v1","data":{"lot":"L","product":"P"}}"#))
        let b = try decoder.decode(try JSONParser().parse(#"{ "data" : { "product":"P", "lot":"L" }, "type":"mfg.lot.created.v1", "source":"s", "id":"1", "specversion":"1.0", "datacontenttype":"application/json" }"#))
        #expect(a.canonicalText == b.canonicalText)
    }

    @Test func equalNumbersWrittenDifferentlyAreTheSameContent() throws {
        func event(_ quantity: String) throws -> NewEvent {
            try decoder.decode(try JSONParser().parse(#"{"specversion":"1.0","id":"1","source":"s","type":"mfg.scrap.reported.v1","data":{"product":"P","quantity":\#(quantity),"uom":"H87"}}"#))
        }
        #expect(try event("5").canonicalText == event("5.0").canonicalText)
        #expect(try event("5").canonicalText == event("5e0").canonicalText)
        #expect(try event("0.50").canonicalText == event("0.5").canonicalText)
        #expect(try event("5").canonicalText != event("5.01").canonicalText)
    }

    @Test func binaryModeBuildsTheSameEvent() throws {
        let structured = try decoder.decode(try JSONParser().parse(#"{"specversion":"1.0","id":"1","source":"mes/plant 1","type":"mfg.lot.created.v1","partitionkey":"L","data":{"lot":"L","product":"P"}}"#))
        let binary = try decoder.decodeBinary(headers: [
            ("ce-specversion", "1.0"), ("CE-ID", "1"), ("ce-source", "mes/plant%201"), ("ce-type", "mfg.lot.created.v1"),
            ("ce-partitionkey", "L"), ("content-type", "application/json"),
        ], data: ["lot": "L", "product": "P"])
        #expect(structured.canonicalText == binary.canonicalText)
    }

    @Test func typedDecodingKeepsDecimalsExact() throws {
        let data: JSONValue = ["order": "WH/MO/1", "quantity": .number("0.1"), "uom": "KGM", "consumed": [["product": "C", "quantity": .number("12.345"), "uom": "GRM"]]]
        let completed = try CanonicalCoding.decode(ProductionCompleted.self, from: data)
        #expect(completed.quantity == Decimal(string: "0.1", locale: Locale(identifier: "en_US_POSIX")))
        #expect(completed.consumed?.first?.quantity == Decimal(string: "12.345", locale: Locale(identifier: "en_US_POSIX")))
    }
}
