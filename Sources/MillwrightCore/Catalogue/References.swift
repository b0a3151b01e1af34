/// Typed business identifiers. Each encodes as a plain JSON string.
public struct OrderReference: RawRepresentable, Hashable, Sendable, Codable { public var rawValue: String; public init(rawValue: String) { self.rawValue = rawValue } }
public struct ProductReference: RawRepresentable, Hashable, Sendable, Codable { public var rawValue: String; public init(rawValue: String) { self.rawValue = rawValue } }
public struct LotReference: RawRepresentable, Hashable, Sendable, Codable { public var rawValue: String; public init(rawValue: String) { self.rawValue = rawValue } }
public struct LocationReference: RawRepresentable, Hashable, Sendable, Codable { public var rawValue: String; public init(rawValue: String) { self.rawValue = rawValue } }
public struct WorkCenterReference: RawRepresentable, Hashable, Sendable, Codable { public var rawValue: String; public init(rawValue: String) { self.rawValue = rawValue } }
public struct EquipmentReference: RawRepresentable, Hashable, Sendable, Codable { public var rawValue: String; public init(rawValue: String) { self.rawValue = rawValue } }
