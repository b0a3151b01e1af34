import Foundation
import MillwrightCore
import Synchronization
import Testing

@Suite struct FlowExpressionTests {
    let event: JSONValue = [
        "type": "mes.count.v1", "source": "mes/line-1", "subject": "WO-17",
        "data": [
            "good": .number("8"), "scrap": .number("2.5"), "machine": "M-07", "mo": .number("42"), "status": "RUN",
            "lines": [["lot": "A", "qty": .number("3")], ["lot": "B", "qty": .number("4")]], "odd-key": "x", "note": " Hello ",
            "nothing": .null,
        ],
    ]
    let tables: [String: [String: JSONValue]] = ["machines": ["M-07": "FURN_7023"]]

    func eval(_ text: String) throws -> JSONValue {
        try FlowExpression.parse(text, tables: Set(tables.keys)).evaluate(event, tables: tables)
    }

    func failure(_ text: String) -> String {
        do {
            _ = try FlowExpression.parse(text, tables: Set(tables.keys)).evaluate(event, tables: tables)
            return "no error"
        } catch let error as FlowExpression.ParseError {
            return "parse: \(error.description)"
        } catch let error as StepError {
            return error.message
        } catch {
            return "\(error)"
        }
    }

    @Test func pathsAndLiterals() throws {
        #expect(try eval("data.machine") == "M-07")
        #expect(try eval("subject") == "WO-17")
        #expect(try eval("data.lines[1].lot") == "B")
        #expect(try eval("data.lines[-1].qty") == .number("4"))
        #expect(try eval("data['odd-key']") == "x")
        #expect(try eval("data.absent") == .null)
        #expect(try eval("data.absent.deeper") == .null, "a missing path is null all the way down")
        #expect(try eval("$.source") == "mes/line-1")
        #expect(try eval("'it\\'s'") == "it's")
        #expect(try eval("\"double\"") == "double")
        #expect(try eval("true") == true)
        #expect(try eval("null") == .null)
    }

    @Test func arithmeticIsDecimal() throws {
        #expect(try eval("data.good + data.scrap") == .number("10.5"))
        #expect(try eval("data.good - data.scrap * 2") == .number("3"))
        #expect(try eval("(data.good - data.scrap) * 2") == .number("11"))
        #expect(try eval("0.1 + 0.2") == .number("0.3"), "no binary floating point")
        #expect(try eval("10 / 4") == .number("2.5"))
        #expect(try eval("1 / 3") == .number("0.333333333333"))
        #expect(try eval("7 % 3") == .number("1"))
        #expect(try eval("-data.good") == .number("-8"))
        #expect(try eval("round(2.345, 2)") == .number("2.35"))
        #expect(try eval("floor(2.7)") == .number("2"))
        #expect(try eval("ceil(2.1)") == .number("3"))
        #expect(try eval("abs(0 - 4)") == .number("4"))
        #expect(try eval("max(data.good, data.scrap, 9)") == .number("9"))
        #expect(try eval("min(data.good, data.scrap)") == .number("2.5"))
        #expect(try eval("number('12.50') + 1") == .number("13.5"))
    }

    @Test func stringsAndConditionals() throws {
        #expect(try eval("'WH/MO/' + pad_left(data.mo, 5, '0')") == "WH/MO/00042")
        #expect(try eval("upper(trim(data.note))") == "HELLO")
        #expect(try eval("lower('ABC') + string(data.good)") == "abc8")
        #expect(try eval("len(data.lines)") == .number("2"))
        #expect(try eval("substring('WH/MO/00042', 6)") == "00042")
        #expect(try eval("substring('WH/MO/00042', 0, 2)") == "WH")
        #expect(try eval("replace(data.machine, '-', '')") == "M07")
        #expect(try eval("split('a;b', ';')") == ["a", "b"])
        #expect(try eval("join(split('a;b', ';'), ',')") == "a,b")
        #expect(try eval("starts_with(data.machine, 'M-') and ends_with(data.machine, '07')") == true)
        #expect(try eval("contains(data.lines, 3)") == false)
        #expect(try eval("data.status == 'RUN' ? 'in_progress' : 'planned'") == "in_progress")
        #expect(try eval("data.good >= 8 && data.scrap < 3") == true)
        #expect(try eval("not (data.good > 8) or data.nothing.x == 1") == true, "or short-circuits")
        #expect(try eval("data.good == 8.0") == true, "numbers compare by value")
        #expect(try eval("coalesce(data.nothing, data.absent, 'fallback')") == "fallback")
        #expect(try eval("lookup('machines', data.machine)") == "FURN_7023")
        #expect(try eval("lookup('machines', 'M-99', 'UNKNOWN')") == "UNKNOWN")
        #expect(try eval("a ? b ? 1 : 2 : 3".replacingOccurrences(of: "a", with: "true").replacingOccurrences(of: "b", with: "false")) == .number("2"))
    }

    @Test func mistakesSayWhereAndWhat() {
        #expect(failure("data.good +") == "parse: column 12: the expression ends too early")
        #expect(failure("data.good # 2") == "parse: column 11: unexpected character '#'")
        #expect(failure("frobnicate(1)").hasPrefix("parse: column 1: unknown function 'frobnicate'; the functions are"))
        #expect(failure("round()") == "parse: column 1: round takes 1 to 2 arguments, not 0")
        #expect(failure("lookup('parts', data.machine)") == "parse: column 1: lookup: no table 'parts' in this step's tables (machines)")
        #expect(failure("'open") == "parse: column 1: the string is not closed (')")
        #expect(failure("data.good data.scrap") == "parse: column 11: unexpected 'data' after the end of the expression")
        #expect(failure("") == "parse: column 1: the expression is empty")
        #expect(failure("data.absent + 1") == "data.absent is missing (null), not a number or string")
        #expect(failure("data.absent - 1") == "data.absent is missing (null), not a number")
        #expect(failure("data.machine * 2") == "data.machine is a string, not a number")
        #expect(failure("data.good / (data.good - 8)") == "data.good - 8 is zero: cannot divide data.good by it")
        #expect(failure("data.good ? 1 : 2") == "data.good is a number, not true or false")
        #expect(failure("lookup('machines', 'M-99')") == "lookup: 'M-99' ('M-99') is not in table 'machines': add it to the flow, or give lookup a default")
        #expect(failure("number('12 pcs')") == "number: '12 pcs' ('12 pcs') is not a number")
        #expect(failure("data.machine.x") == "data.machine is a string, so it has no field 'x'")
    }

    @Test func theMapStepSeesTheEventAsItCameIn() throws {
        let step = FlowStep.map([
            .init(target: "/data/quantity", expression: try FlowExpression.parse("data.good + data.scrap")),
            .init(target: "/data/good", expression: try FlowExpression.parse("0")),
            .init(target: "/data/check", expression: try FlowExpression.parse("data.good")),
            .init(target: "/data/product", expression: try FlowExpression.parse("lookup('machines', data.machine)", tables: ["machines"])),
        ], tables: tables)
        let out = try step.apply(event)
        #expect(out.first?["data"]?["quantity"] == .number("10.5"))
        #expect(out.first?["data"]?["good"] == .number("0"))
        #expect(out.first?["data"]?["check"] == .number("8"), "expressions read the input, not earlier assignments")
        #expect(out.first?["data"]?["product"] == "FURN_7023")
        let failing = FlowStep.map([.init(target: "/data/x", expression: try FlowExpression.parse("data.absent * 2"))], tables: [:])
        #expect(throws: StepError("map: /data/x: data.absent is missing (null), not a number")) { try failing.apply(event) }
    }

    final class Reader: RecordReader {
        let records: [[String: JSONValue]]
        let down: Bool
        let asked = Mutex<[String: JSONValue]>([:])
        init(_ records: [[String: JSONValue]], down: Bool = false) {
            self.records = records
            self.down = down
        }
        func readRecords(model: String, where conditions: [String: JSONValue], fields: [String]) async throws(StepError) -> [[String: JSONValue]] {
            if down { throw StepError("reading \(model) from Odoo: MW-ODOO-0011 connection refused", transient: true) }
            asked.withLock { $0 = conditions }
            return records.filter { r in conditions.allSatisfy { r[$0.key] == $0.value } }
        }
    }

    @Test func enrichCopiesFieldsOfTheOneMatchingRecord() async throws {
        let step = FlowStep.enrich(.init(
            source: "odoo", model: "product.product", match: ["default_code": "/data/machine"],
            fields: ["uom_id": "/data/odoo/uom", "standard_price": "/data/odoo/cost"], keepMissing: false))
        let reader = Reader([["default_code": "M-07", "uom_id": [1, "Units"], "standard_price": .number("12.5")], ["default_code": "X", "uom_id": false]])
        let out = try await FlowStep.run([step], on: event, context: .init(readers: ["odoo": reader]))
        #expect(out.first?["data"]?["odoo"] == ["uom": [1, "Units"], "cost": .number("12.5")])
        #expect(reader.asked.withLock { $0 } == ["default_code": "M-07"])

        let none = Reader([])
        await #expect(throws: StepError("step 1: enrich: no product.product with default_code = \"M-07\" in odoo")) {
            try await FlowStep.run([step], on: event, context: .init(readers: ["odoo": none]))
        }
        let twice = Reader([["default_code": "M-07"], ["default_code": "M-07"]])
        await #expect(throws: StepError("step 1: enrich: several product.product records have default_code = \"M-07\" in odoo; match on a unique field")) {
            try await FlowStep.run([step], on: event, context: .init(readers: ["odoo": twice]))
        }
        do {
            _ = try await FlowStep.run([step], on: event, context: .init(readers: ["odoo": Reader([], down: true)]))
            Issue.record("Odoo down must fail")
        } catch {
            #expect(error.transient, "Odoo being down is retried, not a dead letter")
        }
        var keep = step
        if case .enrich(var e) = keep { e.keepMissing = true; keep = .enrich(e) }
        #expect(try await FlowStep.run([keep], on: event, context: .init(readers: ["odoo": none])) == [event])
    }
}
