import MillwrightCore
import Testing

@Suite("JSONParser")
struct JSONParserTests {
    let parser = JSONParser(maxDepth: 8)

    @Test func parsesEveryKindAndKeepsNumberText() throws {
        let value = try parser.parse(#" {"a": [1, -0.50, 2e3, true, false, null], "b": "x\ny\u00e9\ud83d\ude00"} "#)
        #expect(value["a"] == .array([.number("1"), .number("-0.50"), .number("2e3"), .bool(true), .bool(false), .null]))
        #expect(value["b"] == .string("x\nyé😀"))
    }

    @Test func canonicalTextSortsKeysAndEscapes() throws {
        let value = try parser.parse(#"{"b": 1, "a": {"d": "q\"\\", "c": "\u0001"}}"#)
        #expect(value.canonicalText == #"{"a":{"c":"\u0001","d":"q\"\\"},"b":1}"#)
        #expect(try parser.parse(value.canonicalText) == value)
    }

    @Test(arguments: [
        ("", JSONSyntaxError.Reason.empty, 1, 1),
        ("{\"a\": 1", .unexpectedEnd, 1, 8),
        ("{\"a\": 1,\n \"a\": 2}", .duplicateKey("a"), 2, 2),
        ("[01]", .unexpectedCharacter("'1'"), 1, 3),
        ("[1.]", .invalidNumber, 1, 2),
        ("[-]", .invalidNumber, 1, 2),
        ("\"a\u{01}\"", .controlCharacterInString, 1, 3),
        ("\"\\x\"", .invalidEscape, 1, 2),
        ("\"\\ud800\"", .invalidEscape, 1, 2),
        ("[1] x", .trailingContent, 1, 5),
        ("[nul]", .unexpectedCharacter("']'"), 1, 2),
        ("[[[[[[[[[1]]]]]]]]]", .tooDeep(limit: 8), 1, 9),
    ])
    func reportsWhereItWentWrong(_ input: String, _ reason: JSONSyntaxError.Reason, _ line: Int, _ column: Int) {
        #expect(throws: JSONSyntaxError.self) { try parser.parse(input) }
        do {
            _ = try parser.parse(input)
        } catch {
            #expect(error.reason == reason)
            #expect(error.line == line)
            #expect(error.column == column)
        }
    }

    @Test(arguments: [
        [0x22, 0xC3, 0x22] as [UInt8],  // truncated 2-byte sequence
        [0x22, 0xC0, 0xAF, 0x22],  // overlong
        [0x22, 0xED, 0xA0, 0x80, 0x22],  // UTF-16 surrogate encoded in UTF-8
        [0x22, 0xFF, 0x22],
        [0x22, 0xF4, 0x90, 0x80, 0x80, 0x22],  // above U+10FFFF
    ])
    func rejectsInvalidUTF8(_ bytes: [UInt8]) {
        do {
            _ = try parser.parse(bytes)
            Issue.record("accepted invalid UTF-8 \(bytes)")
        } catch {
            #expect(error.reason == .invalidUTF8)
        }
    }

    @Test func deepNestingIsAnErrorNotACrash() {
        let deep = String(repeating: "[", count: 100_000) + String(repeating: "]", count: 100_000)
        #expect(throws: JSONSyntaxError.self) { try JSONParser().parse(deep) }
    }

    @Test func pointersEscapeTildeAndSlash() {
        #expect(JSONPointer.root.appending("data").appending("a/b~c").appending(0).rawValue == "/data/a~1b~0c/0")
    }
}
