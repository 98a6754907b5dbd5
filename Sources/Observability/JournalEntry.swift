import Logging

/// One structured journal entry: its `KEY=VALUE` fields, in the order they are sent.
///
/// Built from a log call: `MESSAGE=`, `PRIORITY=` (syslog levels), `SYSLOG_IDENTIFIER=`, then one
/// field per metadata key, upper-cased (`market` -> `MARKET=`, `run_id` -> `RUN_ID=`, `fence` ->
/// `FENCE=`, `event` -> `EVENT=`). A key that is not a valid journal field name has its other
/// characters replaced by `_`, and gets an `X` in front when it would start with `_` or a digit
/// (fields starting with `_` are journald's own).
///
/// `nativeDatagram` encodes it in journald's native protocol (systemd.journal-fields(7), "Native
/// Journal Protocol"): `KEY=VALUE\n` per field, or, for a value with a newline, `KEY\n`, its
/// length as a little-endian 64-bit integer, the value and `\n`.
public struct JournalEntry: Sendable, Equatable {
    public var fields: [(key: String, value: String)]

    public init(fields: [(key: String, value: String)]) { self.fields = fields }

    public init(identifier: String, level: Logger.Level, message: String, metadata: Logger.Metadata) {
        var fields: [(key: String, value: String)] = [
            ("MESSAGE", message), ("PRIORITY", String(Self.priority(level))), ("SYSLOG_IDENTIFIER", identifier),
        ]
        for (key, value) in metadata.sorted(by: { $0.key < $1.key }) {
            fields.append((Self.fieldName(key), "\(value)"))
        }
        self.fields = fields
    }

    public static func == (a: JournalEntry, b: JournalEntry) -> Bool {
        a.fields.map(\.key) == b.fields.map(\.key) && a.fields.map(\.value) == b.fields.map(\.value)
    }

    /// The value of the first field named `key`.
    public subscript(key: String) -> String? { fields.first { $0.key == key }?.value }

    /// `KEY=VALUE` byte strings, as `sd_journal_sendv` takes them (it handles newlines itself).
    public var assignments: [[UInt8]] { fields.map { Array("\($0.key)=\($0.value)".utf8) } }

    /// The entry as one datagram of the native journal protocol.
    public var nativeDatagram: [UInt8] {
        var out: [UInt8] = []
        for (key, value) in fields {
            let bytes = Array(value.utf8)
            out.append(contentsOf: key.utf8)
            if bytes.contains(UInt8(ascii: "\n")) {
                out.append(UInt8(ascii: "\n"))
                var length = UInt64(bytes.count).littleEndian
                withUnsafeBytes(of: &length) { out.append(contentsOf: $0) }
            } else {
                out.append(UInt8(ascii: "="))
            }
            out.append(contentsOf: bytes)
            out.append(UInt8(ascii: "\n"))
        }
        return out
    }

    /// Decodes a native-protocol datagram (for tests and tools); nil when it is malformed.
    public static func decode(nativeDatagram bytes: [UInt8]) -> JournalEntry? {
        var fields: [(key: String, value: String)] = []
        var i = 0
        while i < bytes.count {
            guard let end = bytes[i...].firstIndex(where: { $0 == UInt8(ascii: "=") || $0 == UInt8(ascii: "\n") }) else { return nil }
            let key = String(decoding: bytes[i..<end], as: UTF8.self)
            if bytes[end] == UInt8(ascii: "=") {
                guard let newline = bytes[(end + 1)...].firstIndex(of: UInt8(ascii: "\n")) else { return nil }
                fields.append((key, String(decoding: bytes[(end + 1)..<newline], as: UTF8.self)))
                i = newline + 1
            } else {
                guard end + 9 <= bytes.count else { return nil }
                var length: UInt64 = 0
                for k in 0..<8 { length |= UInt64(bytes[end + 1 + k]) << (8 * UInt64(k)) }
                let start = end + 9
                guard length <= UInt64(bytes.count - start - 1) else { return nil }
                let stop = start + Int(length)
                guard bytes[stop] == UInt8(ascii: "\n") else { return nil }
                fields.append((key, String(decoding: bytes[start..<stop], as: UTF8.self)))
                i = stop + 1
            }
        }
        return JournalEntry(fields: fields)
    }

    /// syslog(3) priorities: 2 critical, 3 error, 4 warning, 5 notice, 6 info, 7 debug.
    public static func priority(_ level: Logger.Level) -> Int {
        switch level {
        case .critical: return 2
        case .error: return 3
        case .warning: return 4
        case .notice: return 5
        case .info: return 6
        case .debug, .trace: return 7
        }
    }

    /// A journal field name for a metadata key: A-Z, 0-9 and `_`, not starting with `_` or a digit.
    public static func fieldName(_ key: String) -> String {
        var name = String(
            key.uppercased().unicodeScalars.map { s -> Character in
                (s >= "A" && s <= "Z") || (s >= "0" && s <= "9") || s == "_" ? Character(s) : "_"
            })
        if name.isEmpty || name.first == "_" || name.first!.isNumber { name = "X" + name }
        return String(name.prefix(64))
    }
}
