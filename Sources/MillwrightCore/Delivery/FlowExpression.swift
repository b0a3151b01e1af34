import Foundation

/// The `map` step's expression language (docs/flows.md#map): paths into the event, literals, arithmetic,
/// comparisons, `and`/`or`/`not`, `cond ? a : b`, string and number functions, and `lookup` tables.
/// Parsed when the flow loads (a mistake is a load error with its column); evaluated per event, where a
/// type mismatch or a missing value is a permanent step error naming the expression.
public indirect enum FlowExpression: Sendable, Hashable {
    case literal(JSONValue)
    /// `$` (the whole event), `data.order`, `data.lines[0]`, `data['odd-key']`.
    case root
    case member(FlowExpression, String)
    case index(FlowExpression, FlowExpression)
    case unary(String, FlowExpression)
    case binary(String, FlowExpression, FlowExpression)
    case conditional(FlowExpression, FlowExpression, FlowExpression)
    case call(String, [FlowExpression])

    public struct ParseError: Error, Sendable, Hashable, CustomStringConvertible {
        /// 1-based column in the expression.
        public let column: Int
        public let message: String
        public var description: String { "column \(column): \(message)" }
    }

    /// Functions and their arity (minimum, maximum).
    public static let functions: [String: ClosedRange<Int>] = [
        "upper": 1...1, "lower": 1...1, "trim": 1...1, "len": 1...1, "substring": 2...3, "replace": 3...3,
        "starts_with": 2...2, "ends_with": 2...2, "contains": 2...2, "split": 2...2, "join": 2...2, "pad_left": 3...3,
        "string": 1...1, "number": 1...1, "round": 1...2, "floor": 1...1, "ceil": 1...1, "abs": 1...1,
        "min": 1...16, "max": 1...16, "coalesce": 1...16, "lookup": 2...3,
    ]

    /// Parses `text`; `tables` are the names `lookup` may use.
    public static func parse(_ text: String, tables: Set<String> = []) throws(ParseError) -> FlowExpression {
        var parser = Parser(tokens: try Lexer(text).tokens(), tables: tables, length: text.count)
        let expression = try parser.expression()
        guard parser.at(.end) else { throw parser.error("unexpected \(parser.current.text) after the end of the expression") }
        return expression
    }
}

// MARK: - Lexer

struct Token: Sendable {
    enum Kind: Sendable, Equatable {
        case number(String), string(String), identifier(String), symbol(String), end
    }
    let kind: Kind
    let column: Int
    var text: String {
        switch kind {
        case .number(let n): "'\(n)'"
        case .string(let s): "'\(s)'"
        case .identifier(let i): "'\(i)'"
        case .symbol(let s): "'\(s)'"
        case .end: "the end"
        }
    }
}

struct Lexer {
    let characters: [Character]
    init(_ text: String) { characters = Array(text) }

    func tokens() throws(FlowExpression.ParseError) -> [Token] {
        var result: [Token] = []
        var i = 0
        let symbols = ["==", "!=", "<=", ">=", "&&", "||", "+", "-", "*", "/", "%", "<", ">", "!", "?", ":", "(", ")", "[", "]", ",", ".", "$", "{", "}"]
        while i < characters.count {
            let c = characters[i]
            if c.isWhitespace {
                i += 1
            } else if c.isNumber {
                let start = i
                while i < characters.count, characters[i].isNumber { i += 1 }
                if i + 1 < characters.count, characters[i] == ".", characters[i + 1].isNumber {
                    i += 1
                    while i < characters.count, characters[i].isNumber { i += 1 }
                }
                result.append(Token(kind: .number(String(characters[start..<i])), column: start + 1))
            } else if c == "'" || c == "\"" {
                let start = i
                var value = ""
                i += 1
                var closed = false
                while i < characters.count {
                    let d = characters[i]
                    if d == "\\", i + 1 < characters.count {
                        value.append(characters[i + 1])
                        i += 2
                    } else if d == c {
                        closed = true
                        i += 1
                        break
                    } else {
                        value.append(d)
                        i += 1
                    }
                }
                guard closed else { throw FlowExpression.ParseError(column: start + 1, message: "the string is not closed (\(c))") }
                result.append(Token(kind: .string(value), column: start + 1))
            } else if c.isLetter || c == "_" {
                let start = i
                while i < characters.count, characters[i].isLetter || characters[i].isNumber || characters[i] == "_" { i += 1 }
                result.append(Token(kind: .identifier(String(characters[start..<i])), column: start + 1))
            } else {
                let two = i + 1 < characters.count ? String(characters[i...(i + 1)]) : ""
                if symbols.contains(two) {
                    result.append(Token(kind: .symbol(two), column: i + 1))
                    i += 2
                } else if symbols.contains(String(c)) {
                    result.append(Token(kind: .symbol(String(c)), column: i + 1))
                    i += 1
                } else {
                    throw FlowExpression.ParseError(column: i + 1, message: "unexpected character '\(c)'")
                }
            }
        }
        result.append(Token(kind: .end, column: characters.count + 1))
        return result
    }
}

// MARK: - Parser (precedence climbing)

struct Parser {
    let tokens: [Token]
    let tables: Set<String>
    let length: Int
    var position = 0

    init(tokens: [Token], tables: Set<String>, length: Int) {
        self.tokens = tokens
        self.tables = tables
        self.length = length
    }

    var current: Token { tokens[min(position, tokens.count - 1)] }

    func at(_ kind: Token.Kind) -> Bool { current.kind == kind }
    func atSymbol(_ s: String) -> Bool { current.kind == .symbol(s) }
    func atWord(_ w: String) -> Bool { current.kind == .identifier(w) }

    func error(_ message: String, at token: Token? = nil) -> FlowExpression.ParseError {
        FlowExpression.ParseError(column: (token ?? current).column, message: message)
    }

    mutating func advance() { position += 1 }

    mutating func expect(_ symbol: String) throws(FlowExpression.ParseError) {
        guard atSymbol(symbol) else { throw error("expected '\(symbol)', found \(current.text)") }
        advance()
    }

    mutating func expression() throws(FlowExpression.ParseError) -> FlowExpression {
        let condition = try or()
        guard atSymbol("?") else { return condition }
        advance()
        let then = try expression()
        try expect(":")
        return .conditional(condition, then, try expression())
    }

    mutating func or() throws(FlowExpression.ParseError) -> FlowExpression {
        var left = try and()
        while atWord("or") || atSymbol("||") {
            advance()
            left = .binary("or", left, try and())
        }
        return left
    }

    mutating func and() throws(FlowExpression.ParseError) -> FlowExpression {
        var left = try not()
        while atWord("and") || atSymbol("&&") {
            advance()
            left = .binary("and", left, try not())
        }
        return left
    }

    mutating func not() throws(FlowExpression.ParseError) -> FlowExpression {
        if atWord("not") || atSymbol("!") {
            advance()
            return .unary("not", try not())
        }
        return try comparison()
    }

    mutating func comparison() throws(FlowExpression.ParseError) -> FlowExpression {
        let left = try additive()
        for op in ["==", "!=", "<=", ">=", "<", ">"] where atSymbol(op) {
            advance()
            return .binary(op, left, try additive())
        }
        return left
    }

    mutating func additive() throws(FlowExpression.ParseError) -> FlowExpression {
        var left = try multiplicative()
        while atSymbol("+") || atSymbol("-") {
            guard case .symbol(let op) = current.kind else { break }
            advance()
            left = .binary(op, left, try multiplicative())
        }
        return left
    }

    mutating func multiplicative() throws(FlowExpression.ParseError) -> FlowExpression {
        var left = try unary()
        while atSymbol("*") || atSymbol("/") || atSymbol("%") {
            guard case .symbol(let op) = current.kind else { break }
            advance()
            left = .binary(op, left, try unary())
        }
        return left
    }

    mutating func unary() throws(FlowExpression.ParseError) -> FlowExpression {
        if atSymbol("-") {
            advance()
            return .unary("-", try unary())
        }
        return try postfix()
    }

    mutating func postfix() throws(FlowExpression.ParseError) -> FlowExpression {
        var base = try primary()
        while true {
            if atSymbol(".") {
                advance()
                guard case .identifier(let name) = current.kind else { throw error("expected a field name after '.', found \(current.text)") }
                advance()
                base = .member(base, name)
            } else if atSymbol("[") {
                advance()
                let index = try expression()
                try expect("]")
                base = .index(base, index)
            } else {
                return base
            }
        }
    }

    mutating func primary() throws(FlowExpression.ParseError) -> FlowExpression {
        let token = current
        switch token.kind {
        case .number(let n):
            advance()
            return .literal(.number(n))
        case .string(let s):
            advance()
            return .literal(.string(s))
        case .symbol("$"):
            advance()
            return .root
        case .symbol("("):
            advance()
            let inner = try expression()
            try expect(")")
            return inner
        case .identifier(let name):
            advance()
            switch name {
            case "true": return .literal(.bool(true))
            case "false": return .literal(.bool(false))
            case "null": return .literal(.null)
            default: break
            }
            guard atSymbol("(") else { return .member(.root, name) }
            guard let arity = FlowExpression.functions[name] else {
                throw error("unknown function '\(name)'; the functions are \(FlowExpression.functions.keys.sorted().joined(separator: ", "))", at: token)
            }
            advance()
            var arguments: [FlowExpression] = []
            if !atSymbol(")") {
                arguments.append(try expression())
                while atSymbol(",") {
                    advance()
                    arguments.append(try expression())
                }
            }
            try expect(")")
            guard arity.contains(arguments.count) else {
                let wanted = arity.lowerBound == arity.upperBound ? "\(arity.lowerBound)" : "\(arity.lowerBound) to \(arity.upperBound)"
                throw error("\(name) takes \(wanted) argument\(arity.upperBound == 1 ? "" : "s"), not \(arguments.count)", at: token)
            }
            if name == "lookup" {
                guard case .literal(.string(let table)) = arguments[0] else { throw error("lookup's first argument is a table name in quotes: lookup('machines', data.machine)", at: token) }
                guard tables.contains(table) else {
                    throw error("lookup: no table '\(table)' in this step's tables\(tables.isEmpty ? "" : " (\(tables.sorted().joined(separator: ", ")))")", at: token)
                }
            }
            return .call(name, arguments)
        case .end:
            throw error(length == 0 ? "the expression is empty" : "the expression ends too early")
        case .symbol(let s):
            throw error("unexpected '\(s)'")
        }
    }
}

// MARK: - Evaluation

extension FlowExpression {
    /// Evaluates against `event` (the whole envelope); `tables` serve `lookup`.
    public func evaluate(_ event: JSONValue, tables: [String: [String: JSONValue]] = [:]) throws(StepError) -> JSONValue {
        switch self {
        case .literal(let value):
            return value
        case .root:
            return event
        case .member(let base, let name):
            let value = try base.evaluate(event, tables: tables)
            switch value {
            case .object(let members): return members[name] ?? .null
            case .null: return .null
            default: throw StepError("\(base.text) is \(value.kindDescription), so it has no field '\(name)'")
            }
        case .index(let base, let indexExpression):
            let value = try base.evaluate(event, tables: tables)
            let index = try indexExpression.evaluate(event, tables: tables)
            switch (value, index) {
            case (.null, _): return .null
            case (.array(let items), .number(let n)):
                guard let i = Int(n) else { throw StepError("\(indexExpression.text) is \(n), not a whole number") }
                let position = i < 0 ? items.count + i : i
                return items.indices.contains(position) ? items[position] : .null
            case (.object(let members), .string(let key)):
                return members[key] ?? .null
            default:
                throw StepError("cannot index \(value.kindDescription) (\(base.text)) with \(index.kindDescription)")
            }
        case .unary(let op, let operand):
            let value = try operand.evaluate(event, tables: tables)
            if op == "not" { return .bool(!(try Self.boolean(value, operand))) }
            return .number(Self.format(-(try Self.decimal(value, operand))))
        case .binary(let op, let leftExpression, let rightExpression):
            if op == "and" || op == "or" {
                let left = try Self.boolean(try leftExpression.evaluate(event, tables: tables), leftExpression)
                if op == "and" && !left { return .bool(false) }
                if op == "or" && left { return .bool(true) }
                return .bool(try Self.boolean(try rightExpression.evaluate(event, tables: tables), rightExpression))
            }
            let left = try leftExpression.evaluate(event, tables: tables)
            let right = try rightExpression.evaluate(event, tables: tables)
            return try Self.binary(op, left, right, leftExpression, rightExpression)
        case .conditional(let condition, let then, let otherwise):
            return try Self.boolean(try condition.evaluate(event, tables: tables), condition)
                ? try then.evaluate(event, tables: tables) : try otherwise.evaluate(event, tables: tables)
        case .call(let name, let argumentExpressions):
            var arguments: [JSONValue] = []
            for a in argumentExpressions { arguments.append(try a.evaluate(event, tables: tables)) }
            return try Self.call(name, arguments, argumentExpressions, tables: tables)
        }
    }

    /// The expression written back out (for error messages).
    public var text: String {
        switch self {
        case .literal(let value): value.canonicalText.replacingOccurrences(of: "\"", with: "'")
        case .root: "$"
        case .member(.root, let name): name
        case .member(let base, let name): "\(base.text).\(name)"
        case .index(let base, let index): "\(base.text)[\(index.text)]"
        case .unary("not", let operand): "not \(operand.text)"
        case .unary(let op, let operand): "\(op)\(operand.text)"
        case .binary(let op, let l, let r): "\(l.text) \(op) \(r.text)"
        case .conditional(let c, let t, let e): "\(c.text) ? \(t.text) : \(e.text)"
        case .call(let name, let arguments): "\(name)(\(arguments.map(\.text).joined(separator: ", ")))"
        }
    }

    static func describe(_ value: JSONValue, _ expression: FlowExpression) -> String {
        value == .null ? "\(expression.text) is missing (null)" : "\(expression.text) is \(value.kindDescription)"
    }

    static func decimal(_ value: JSONValue, _ expression: FlowExpression) throws(StepError) -> Decimal {
        guard case .number(let text) = value, let number = Decimal(string: text, locale: Locale(identifier: "en_US_POSIX")) else {
            throw StepError("\(describe(value, expression)), not a number")
        }
        return number
    }

    static func string(_ value: JSONValue, _ expression: FlowExpression) throws(StepError) -> String {
        guard case .string(let text) = value else { throw StepError("\(describe(value, expression)), not a string") }
        return text
    }

    static func boolean(_ value: JSONValue, _ expression: FlowExpression) throws(StepError) -> Bool {
        guard case .bool(let b) = value else { throw StepError("\(describe(value, expression)), not true or false") }
        return b
    }

    static func format(_ number: Decimal) -> String {
        var value = number
        var rounded = Decimal()
        NSDecimalRound(&rounded, &value, 12, .plain)
        return rounded.description
    }

    /// A value as text: strings as they are, numbers and booleans written out, null as "".
    static func text(of value: JSONValue) -> String {
        switch value {
        case .string(let s): s
        case .null: ""
        default: value.canonicalText
        }
    }

    static func binary(_ op: String, _ left: JSONValue, _ right: JSONValue, _ l: FlowExpression, _ r: FlowExpression) throws(StepError) -> JSONValue {
        switch op {
        case "==": return .bool(FlowStep.same(left, right))
        case "!=": return .bool(!FlowStep.same(left, right))
        case "<", "<=", ">", ">=":
            let order: ComparisonResult
            if case .string(let a) = left, case .string(let b) = right {
                order = a < b ? .orderedAscending : a == b ? .orderedSame : .orderedDescending
            } else {
                let a = try decimal(left, l)
                let b = try decimal(right, r)
                order = a < b ? .orderedAscending : a == b ? .orderedSame : .orderedDescending
            }
            switch op {
            case "<": return .bool(order == .orderedAscending)
            case "<=": return .bool(order != .orderedDescending)
            case ">": return .bool(order == .orderedDescending)
            default: return .bool(order != .orderedAscending)
            }
        case "+":
            if case .number = left, case .number = right { return .number(format(try decimal(left, l) + decimal(right, r))) }
            if left == .null { throw StepError("\(describe(left, l)), not a number or string") }
            if right == .null { throw StepError("\(describe(right, r)), not a number or string") }
            switch (left, right) {
            case (.string(let a), .string(let b)): return .string(a + b)
            case (.string(let a), .number(let b)): return .string(a + b)
            case (.number(let a), .string(let b)): return .string(a + b)
            default: throw StepError("cannot add \(left.kindDescription) (\(l.text)) and \(right.kindDescription) (\(r.text))")
            }
        case "-": return .number(format(try decimal(left, l) - decimal(right, r)))
        case "*": return .number(format(try decimal(left, l) * decimal(right, r)))
        case "/", "%":
            let a = try decimal(left, l)
            let b = try decimal(right, r)
            guard b != 0 else { throw StepError("\(r.text) is zero: cannot divide \(l.text) by it") }
            if op == "/" { return .number(format(a / b)) }
            var quotient = a / b
            var whole = Decimal()
            NSDecimalRound(&whole, &quotient, 0, .down)
            return .number(format(a - whole * b))
        default:
            throw StepError("unknown operator \(op)")
        }
    }

    static func call(_ name: String, _ a: [JSONValue], _ e: [FlowExpression], tables: [String: [String: JSONValue]]) throws(StepError) -> JSONValue {
        func str(_ i: Int) throws(StepError) -> String { try string(a[i], e[i]) }
        func num(_ i: Int) throws(StepError) -> Decimal { try decimal(a[i], e[i]) }
        func int(_ i: Int) throws(StepError) -> Int {
            let n = try num(i)
            guard let value = Int(n.description), abs(value) < 1_000_000_000 else { throw StepError("\(e[i].text) is \(n), not a whole number") }
            return value
        }
        switch name {
        case "upper": return .string(try str(0).uppercased())
        case "lower": return .string(try str(0).lowercased())
        case "trim": return .string(try str(0).trimmingCharacters(in: .whitespacesAndNewlines))
        case "len":
            switch a[0] {
            case .string(let s): return .number(String(s.count))
            case .array(let items): return .number(String(items.count))
            case .object(let members): return .number(String(members.count))
            default: throw StepError("len: \(describe(a[0], e[0])), not a string, array or object")
            }
        case "substring":
            let s = Array(try str(0))
            let start = min(max(try int(1), 0), s.count)
            let count = a.count > 2 ? max(try int(2), 0) : s.count - start
            return .string(String(s[start..<min(s.count, start + count)]))
        case "replace": return .string(try str(0).replacingOccurrences(of: try str(1), with: try str(2)))
        case "starts_with": return .bool(try str(0).hasPrefix(try str(1)))
        case "ends_with": return .bool(try str(0).hasSuffix(try str(1)))
        case "contains":
            switch a[0] {
            case .string(let s): return .bool(s.contains(try str(1)))
            case .array(let items): return .bool(items.contains { FlowStep.same($0, a[1]) })
            default: throw StepError("contains: \(describe(a[0], e[0])), not a string or array")
            }
        case "split":
            let separator = try str(1)
            guard !separator.isEmpty else { throw StepError("split: the separator is empty") }
            return .array(try str(0).components(separatedBy: separator).map { .string($0) })
        case "join":
            guard case .array(let items) = a[0] else { throw StepError("join: \(describe(a[0], e[0])), not an array") }
            return .string(items.map(text(of:)).joined(separator: try str(1)))
        case "pad_left":
            let s = text(of: a[0])
            let width = try int(1)
            let fill = try str(2)
            guard fill.count == 1 else { throw StepError("pad_left: the fill '\(fill)' is not one character") }
            return .string(String(repeating: fill, count: max(0, width - s.count)) + s)
        case "string": return .string(text(of: a[0]))
        case "number":
            switch a[0] {
            case .number: return a[0]
            case .string(let s):
                guard let n = Decimal(string: s.trimmingCharacters(in: .whitespaces), locale: Locale(identifier: "en_US_POSIX")),
                    s.trimmingCharacters(in: .whitespaces).allSatisfy({ $0.isNumber || $0 == "." || $0 == "-" || $0 == "+" || $0 == "e" || $0 == "E" })
                else { throw StepError("number: '\(s)' (\(e[0].text)) is not a number") }
                return .number(format(n))
            default: throw StepError("number: \(describe(a[0], e[0])), not a string or number")
            }
        case "round", "floor", "ceil":
            var value = try num(0)
            let places = a.count > 1 ? try int(1) : 0
            var result = Decimal()
            NSDecimalRound(&result, &value, places, name == "round" ? .plain : name == "floor" ? .down : .up)
            return .number(format(result))
        case "abs": return .number(format(abs(try num(0))))
        case "min", "max":
            var best = try num(0)
            for i in a.indices.dropFirst() {
                let n = try num(i)
                if name == "min" ? n < best : n > best { best = n }
            }
            return .number(format(best))
        case "coalesce": return a.first { $0 != .null } ?? .null
        case "lookup":
            let table = text(of: a[0])
            guard let entries = tables[table] else { throw StepError("lookup: no table '\(table)'") }
            let key = a[1].stringValue ?? a[1].canonicalText
            if let found = entries[key] { return found }
            if a.count > 2 { return a[2] }
            throw StepError("lookup: '\(key)' (\(e[1].text)) is not in table '\(table)': add it to the flow, or give lookup a default")
        default:
            throw StepError("unknown function \(name)")
        }
    }
}
