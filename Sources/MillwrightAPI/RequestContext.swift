import Hummingbird
import Logging

/// The request context of Millwright's API: Hummingbird's core context plus who is calling.
public struct MillwrightRequestContext: RequestContext {
    public var coreContext: CoreRequestContextStorage
    /// Set by ``AuthMiddleware`` for `/v1` routes.
    public var principal: Principal?
    public let remoteAddress: String?

    public init(source: ApplicationRequestContextSource) {
        self.coreContext = .init(source: source)
        self.principal = nil
        self.remoteAddress = source.channel.remoteAddress?.ipAddress
    }
}
