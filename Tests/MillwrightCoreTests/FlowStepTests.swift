import Foundation
import MillwrightCore
import Testing

@Suite struct FlowStepTests {
    let event: JSONValue = [
        "type": "mfg.scrap.reported.v1", "source": "mes/1",
        "data": ["product": "M-07-PANEL", "quantity": .number("2.0"), "uom": "H87", "lines": [["lot": "A"], ["lot": "B"]], "final": true],
    ]

    @Test func filterKeepsOrDrops() throws {
        #expect(try FlowStep.filter(pointer: "/data/final", condition: .equals(true), negate: false).apply(event).count == 1)
        #expect(try FlowStep.filter(pointer: "/data/final", condition: .equals(true), negate: true).apply(event).isEmpty)
        #expect(try FlowStep.filter(pointer: "/data/quantity", condition: .oneOf([1, 2]), negate: false).apply(event).count == 1, "2.0 is 2")
        #expect(try FlowStep.filter(pointer: "/data/missing", condition: .exists, negate: false).apply(event).isEmpty)
    }

    @Test func setLookupAndSplit() throws {
        let set = try FlowStep.set([
            .init(target: "/data/location", source: .literal("WH/Stock")),
            .init(target: "/data/reason", source: .pointer("/source")),
        ]).apply(event)
        #expect(set.first?["data"]?["location"] == "WH/Stock")
        #expect(set.first?["data"]?["reason"] == "mes/1")

        let mapped = try FlowStep.lookup(pointer: "/data/product", table: ["M-07-PANEL": "FURN_7023"], keepMissing: false).apply(event)
        #expect(mapped.first?["data"]?["product"] == "FURN_7023")
        #expect(throws: StepError.self) { try FlowStep.lookup(pointer: "/data/product", table: [:], keepMissing: false).apply(event) }
        #expect(try FlowStep.lookup(pointer: "/data/product", table: [:], keepMissing: true).apply(event) == [event])

        let pieces = try FlowStep.split(pointer: "/data/lines", into: "/data/lot").apply(event)
        #expect(pieces.map { $0["data"]?["lot"]?["lot"] } == ["A", "B"])
    }

    @Test func statusMapAndUnitConversion() throws {
        let status: JSONValue = ["data": ["order": "WH/MO/1", "state": "RUN"]]
        let mapped = try FlowStep.statusMap(pointer: "/data/state", table: ["RUN": .inProgress], native: "/data/native_state", keepMissing: false).apply(status)
        #expect(mapped.first?["data"]?["state"] == "in_progress")
        #expect(mapped.first?["data"]?["native_state"] == "RUN")
        #expect(throws: StepError.self) { try FlowStep.statusMap(pointer: "/data/state", table: [:], native: nil, keepMissing: false).apply(status) }

        let grams: JSONValue = ["data": ["quantity": .number("1500"), "uom": "GRM"]]
        let kilos = try FlowStep.convertUnits(quantity: "/data/quantity", uom: "/data/uom", to: UnitCode("KGM")).apply(grams)
        #expect(kilos.first?["data"]?["quantity"] == .number("1.5"))
        #expect(kilos.first?["data"]?["uom"] == "KGM")
        do {
            _ = try FlowStep.convertUnits(quantity: "/data/quantity", uom: "/data/uom", to: UnitCode("H87")).apply(grams)
            Issue.record("grams to pieces must fail")
        } catch {
            #expect(error.message.hasPrefix("convert-units: cannot convert gram"))
        }
    }

    @Test func stepsRunInOrderAndNameTheOneThatFailed() throws {
        let steps: [FlowStep] = [
            .split(pointer: "/data/lines", into: "/data/line"),
            .filter(pointer: "/data/line/lot", condition: .equals("B"), negate: false),
            .set([.init(target: "/data/lot", source: .pointer("/data/line/lot"))]),
        ]
        let out = try FlowStep.run(steps, on: event)
        #expect(out.count == 1)
        #expect(out.first?["data"]?["lot"] == "B")
        do {
            _ = try FlowStep.run([.split(pointer: "/data/product", into: "/data/x")], on: event)
            Issue.record("split of a string must fail")
        } catch {
            #expect(error.message == "step 1: split: /data/product is not an array")
        }
    }
}
