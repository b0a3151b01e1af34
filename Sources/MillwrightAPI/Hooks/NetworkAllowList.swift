/// A list of networks in CIDR notation (`10.20.0.0/16`, `192.0.2.7`, `2001:db8::/32`) that a peer address
/// must fall in. IPv4-mapped IPv6 peers (`::ffff:10.20.1.5`) are matched as the IPv4 address they carry.
///
/// ```swift
/// let allow = try NetworkAllowList(["10.20.0.0/16", "127.0.0.1"])
/// allow.contains("10.20.3.4")  // true
/// ```
public struct NetworkAllowList: Sendable, Hashable, CustomStringConvertible {
    public struct Network: Sendable, Hashable, CustomStringConvertible {
        /// 4 bytes (IPv4) or 16 bytes (IPv6).
        public var address: [UInt8]
        public var prefixLength: Int
        public var text: String

        public var description: String { text }

        func contains(_ other: [UInt8]) -> Bool {
            guard other.count == address.count else { return false }
            var bits = prefixLength
            for i in 0..<address.count where bits > 0 {
                let mask: UInt8 = bits >= 8 ? 0xFF : ~(0xFF >> UInt8(bits))
                if address[i] & mask != other[i] & mask { return false }
                bits -= 8
            }
            return true
        }
    }

    public struct ParseError: Error, Sendable, CustomStringConvertible {
        public var description: String
    }

    public var networks: [Network]

    /// Parses each entry; a bare address is a network of one (`/32`, `/128`).
    public init(_ entries: [String]) throws(ParseError) {
        var networks: [Network] = []
        for entry in entries {
            let parts = entry.split(separator: "/", maxSplits: 1, omittingEmptySubsequences: false)
            guard let address = Self.parse(String(parts[0])) else {
                throw ParseError(description: "'\(entry)' is not an IPv4 or IPv6 address or network (e.g. 10.20.0.0/16, 2001:db8::/32)")
            }
            let maxBits = address.count * 8
            var prefix = maxBits
            if parts.count == 2 {
                guard let p = Int(parts[1]), (0...maxBits).contains(p) else {
                    throw ParseError(description: "'\(entry)': the prefix length must be a whole number from 0 to \(maxBits)")
                }
                prefix = p
            }
            networks.append(Network(address: address, prefixLength: prefix, text: entry))
        }
        self.networks = networks
    }

    public var isEmpty: Bool { networks.isEmpty }

    public var description: String { networks.map(\.text).joined(separator: ", ") }

    /// Whether `peer` (an address as text, without port) is in one of the networks.
    public func contains(_ peer: String) -> Bool {
        guard var bytes = Self.parse(peer) else { return false }
        if bytes.count == 16, bytes[0..<10].allSatisfy({ $0 == 0 }), bytes[10] == 0xFF, bytes[11] == 0xFF {
            bytes = Array(bytes[12..<16])
        }
        return networks.contains { $0.contains(bytes) }
    }

    /// The address's bytes (4 or 16), or `nil` when it is not an address. A zone (`%eth0`) is ignored.
    static func parse(_ text: String) -> [UInt8]? {
        let text = text.split(separator: "%", maxSplits: 1).first.map(String.init) ?? text
        if text.contains(":") { return parseIPv6(text) }
        return parseIPv4(text)
    }

    static func parseIPv4(_ text: String) -> [UInt8]? {
        let parts = text.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 4 else { return nil }
        var out: [UInt8] = []
        for part in parts {
            guard !part.isEmpty, part.count <= 3, part.allSatisfy(\.isASCII), let v = UInt8(part) else { return nil }
            out.append(v)
        }
        return out
    }

    static func parseIPv6(_ text: String) -> [UInt8]? {
        let halves = text.split(separator: "::", omittingEmptySubsequences: false).map(String.init)
        guard halves.count <= 2 else { return nil }
        func groups(_ part: String) -> [UInt8]? {
            if part.isEmpty { return [] }
            var out: [UInt8] = []
            let items = part.split(separator: ":", omittingEmptySubsequences: false)
            for (i, item) in items.enumerated() {
                if i == items.count - 1, item.contains(".") {
                    guard let v4 = parseIPv4(String(item)) else { return nil }
                    out += v4
                    continue
                }
                guard !item.isEmpty, item.count <= 4, let v = UInt16(item, radix: 16) else { return nil }
                out += [UInt8(v >> 8), UInt8(v & 0xFF)]
            }
            return out
        }
        guard let head = groups(halves[0]) else { return nil }
        if halves.count == 1 { return head.count == 16 ? head : nil }
        guard let tail = groups(halves[1]), head.count + tail.count <= 14 else { return nil }
        return head + Array(repeating: 0, count: 16 - head.count - tail.count) + tail
    }
}
