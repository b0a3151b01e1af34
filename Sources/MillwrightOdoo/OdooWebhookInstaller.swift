import Foundation
import MillwrightCore

/// Creates or updates, idempotently, the Odoo automation rules (`base.automation`) whose webhook action
/// (`ir.actions.server`, state `webhook`) tells Millwright that a production order or a product changed.
///
/// Each rule is found again by its external id, `millwright.automation_<source>_<model>`
/// (`ir.model.data`), so running it twice changes nothing the second time. Odoo sends only `_model`,
/// `_id` and `_action` (no field values: Millwright reads the record through the API anyway).
public struct OdooWebhookInstaller: Sendable {
    /// What one rule is: its model and, for orders, the fields whose change fires it.
    public struct Rule: Sendable, Hashable {
        public var model: String
        /// Empty: any change fires it.
        public var triggerFields: [String]
    }

    public static let rules = [
        Rule(model: OdooChangeCapture.orderModel, triggerFields: ["state"]),
        Rule(model: OdooChangeCapture.productModel, triggerFields: []),
    ]

    /// What was done for one rule.
    public struct Outcome: Sendable, Hashable, CustomStringConvertible {
        public enum Effect: String, Sendable { case created, updated, unchanged }
        public var model: String
        public var effect: Effect
        public var automationID: Int
        public var actionID: Int
        public var externalID: String
        public var description: String { "\(model): automation \(automationID), webhook action \(actionID), \(externalID): \(effect.rawValue)" }
    }

    let client: OdooClient

    public init(client: OdooClient) { self.client = client }

    public static func externalName(source: String, model: String) -> String {
        let safe = (source + "_" + model).map { $0.isLetter || $0.isNumber ? $0 : "_" }
        return "automation_" + String(safe)
    }

    /// - Parameters:
    ///   - url: where Odoo posts: `<Millwright base URL>/v1/hooks/<source>/<secret>`.
    ///   - source: the `odoo` hook source's name (also part of the external ids and rule names).
    ///   - active: `false` keeps the rules but stops the webhooks (the poll alone then captures changes).
    public func install(url: String, source: String, active: Bool = true) async throws(OdooError) -> [Outcome] {
        var outcomes: [Outcome] = []
        for rule in Self.rules {
            outcomes.append(try await install(rule, url: url, source: source, active: active))
        }
        return outcomes
    }

    func install(_ rule: Rule, url: String, source: String, active: Bool) async throws(OdooError) -> Outcome {
        guard let modelID = try await client.searchRead("ir.model", [.leaf("model", "=", .string(rule.model))], fields: ["id"]).first?.id else {
            throw OdooError(.notFound, "the model \(rule.model) is not in this Odoo database: install the module that provides it")
        }
        var triggerIDs: [Int] = []
        if !rule.triggerFields.isEmpty {
            let fields = try await client.searchRead(
                "ir.model.fields", [.leaf("model", "=", .string(rule.model)), .leaf("name", "in", .strings(rule.triggerFields))], fields: ["name"])
            triggerIDs = fields.map(\.id).sorted()
            guard triggerIDs.count == rule.triggerFields.count else {
                throw OdooError(.notFound, "\(rule.model) lacks one of the fields \(rule.triggerFields.joined(separator: ", "))")
            }
        }
        let xmlName = Self.externalName(source: source, model: rule.model)
        let externalID = "millwright.\(xmlName)"
        let name = "Millwright change capture (\(source)): \(rule.model)"
        let action: [String: JSONValue] = [
            "name": .string("Millwright webhook (\(source)): \(rule.model)"), "model_id": .int(modelID), "state": "webhook",
            "webhook_url": .string(url), "webhook_field_ids": .array([.array([6, 0, .ints([])])]),
        ]
        let bound = try await client.searchRead(
            "ir.model.data", [.leaf("module", "=", "millwright"), .leaf("name", "=", .string(xmlName)), .leaf("model", "=", "base.automation")],
            fields: ["res_id"])
        if let automationID = bound.first?.int("res_id"),
           let existing = try await client.read("base.automation", [automationID], fields: ["name", "model_id", "trigger", "trigger_field_ids", "action_server_ids", "active"], context: ["active_test": false]).first {
            let actions = try await client.read("ir.actions.server", existing.ids("action_server_ids"), fields: ["state", "webhook_url", "webhook_field_ids", "model_id"])
            let webhook = actions.first { $0.string("state") == "webhook" }
            let ruleCurrent = existing.string("name") == name && existing.many2one("model_id") == modelID && existing.string("trigger") == "on_create_or_write"
                && existing.ids("trigger_field_ids").sorted() == triggerIDs && existing.bool("active") == active
            let actionCurrent = webhook.map { $0.string("webhook_url") == url && $0.ids("webhook_field_ids").isEmpty && $0.many2one("model_id") == modelID } ?? false
            if ruleCurrent && actionCurrent, let webhook {
                return Outcome(model: rule.model, effect: .unchanged, automationID: automationID, actionID: webhook.id, externalID: externalID)
            }
            var vals: [String: JSONValue] = [
                "name": .string(name), "model_id": .int(modelID), "trigger": "on_create_or_write",
                "trigger_field_ids": .array([.array([6, 0, .ints(triggerIDs)])]), "active": .bool(active),
            ]
            if let webhook {
                try await client.write("ir.actions.server", [webhook.id], action)
            } else {
                vals["action_server_ids"] = .array([.array([0, 0, .object(action)])])
            }
            try await client.write("base.automation", [automationID], vals, context: ["active_test": false])
            let actionID = try await webhookActionID(automationID)
            return Outcome(model: rule.model, effect: .updated, automationID: automationID, actionID: actionID, externalID: externalID)
        }
        let created = try await client.create("base.automation", [[
            "name": .string(name), "model_id": .int(modelID), "trigger": "on_create_or_write",
            "trigger_field_ids": .array([.array([6, 0, .ints(triggerIDs)])]), "active": .bool(active),
            "action_server_ids": .array([.array([0, 0, .object(action)])]),
        ]])
        guard let automationID = created.first else { throw OdooError(.unexpectedAnswer, "base.automation/create answered no id") }
        _ = try await client.create("ir.model.data", [[
            "module": "millwright", "name": .string(xmlName), "model": "base.automation", "res_id": .int(automationID), "noupdate": true,
        ]])
        let actionID = try await webhookActionID(automationID)
        return Outcome(model: rule.model, effect: .created, automationID: automationID, actionID: actionID, externalID: externalID)
    }

    func webhookActionID(_ automationID: Int) async throws(OdooError) -> Int {
        let ids = try await client.read("base.automation", [automationID], fields: ["action_server_ids"], context: ["active_test": false]).first?.ids("action_server_ids") ?? []
        guard let id = ids.first else { throw OdooError(.unexpectedAnswer, "automation \(automationID) has no action after it was written") }
        return id
    }
}
