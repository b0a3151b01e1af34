import MillwrightAPI
import Yams

/// `approvals:`: which sensitive actions need a second person.
///
/// ```yaml
/// approvals:
///   required_for: [token.create, token.rotate, token.revoke, service_account.create]
///   expire_after_seconds: 86400
/// ```
extension YAMLReader {
    func approvals(_ node: Node) throws(ConfigurationError) -> ApprovalPolicy {
        let m = try mapping(node, keys: ["required_for", "expire_after_seconds"])
        var policy = ApprovalPolicy()
        if let v = m["required_for"] {
            guard case .sequence(let items) = v else { throw error(v, "expected a list of actions: \(ApprovalPolicy.actions.joined(separator: ", "))") }
            for item in items {
                let action = try string(item)
                guard ApprovalPolicy.actions.contains(action) else {
                    let hint = Self.closest(to: action, in: ApprovalPolicy.actions).map { " (did you mean '\($0)'?)" } ?? ""
                    throw error(item, "unknown action '\(action)'\(hint); actions that can need approval: \(ApprovalPolicy.actions.joined(separator: ", "))")
                }
                policy.required.insert(action)
            }
        }
        if let v = m["expire_after_seconds"] { policy.expireAfterSeconds = try int(v, in: 60...2_592_000) }
        return policy
    }
}
