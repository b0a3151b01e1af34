import Foundation
import MillwrightCore
import MillwrightFiles
import Yams

extension YAMLReader {
    /// `files:`: named folders for the `file` sink.
    ///
    /// ```yaml
    /// files:
    ///   mes-export:
    ///     folder: ./exchange/mes
    ///     format: csv                # or jsonl (one CloudEvent per line)
    ///     columns:                   # csv only: header → JSON pointer into the event
    ///       order: /data/order
    ///       quantity: /data/quantity
    ///     prefix: completions        # file names start with this (default: the target's name)
    /// ```
    func fileTargets(_ node: Node) throws(ConfigurationError) -> [FileTarget] {
        guard case .mapping(let entries) = node else { throw error(node, "expected a mapping of file target names to {folder, format, columns, prefix}") }
        var targets: [FileTarget] = []
        for (keyNode, value) in entries {
            let name = try string(keyNode)
            guard name.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "-" || $0 == "_" || $0 == ".") }) else {
                throw error(keyNode, "a file target name uses letters, digits, '-', '_' and '.'")
            }
            let m = try mapping(value, keys: ["folder", "format", "columns", "prefix"])
            guard let folderNode = m["folder"] else { throw error(value, "file target '\(name)' needs 'folder'") }
            guard let formatNode = m["format"] else { throw error(value, "file target '\(name)' needs 'format' (jsonl or csv)") }
            let format = try choice(formatNode, FileTarget.Format.self)
            var columns: [FileTarget.Column] = []
            if let columnsNode = m["columns"] {
                guard format == .csv else { throw error(columnsNode, "columns are for format: csv") }
                guard case .mapping(let pairs) = columnsNode, !pairs.isEmpty else {
                    throw error(columnsNode, "expected a mapping of column headers to JSON pointers, e.g. order: /data/order")
                }
                for (header, pointerNode) in pairs {
                    let pointer = try string(pointerNode)
                    guard JSONPointer(rawValue: pointer).tokens != nil else { throw error(pointerNode, "'\(pointer)' is not a JSON pointer such as /data/order") }
                    columns.append(FileTarget.Column(name: try string(header), pointer: JSONPointer(rawValue: pointer)))
                }
            } else if format == .csv {
                throw error(value, "a csv file target needs 'columns' (header: JSON pointer)")
            }
            var prefix: String?
            if let p = m["prefix"] {
                let text = try string(p)
                guard !text.contains("/"), !text.hasPrefix(".") else { throw error(p, "a file name prefix has no '/' and does not start with '.'") }
                prefix = text
            }
            targets.append(FileTarget(name: name, folder: try string(folderNode), format: format, columns: columns, prefix: prefix))
        }
        return targets
    }
}
