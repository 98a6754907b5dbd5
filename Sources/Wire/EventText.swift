/// One journal event as one readable line, for `supervisor logs`:
/// `2026-12-04T16:11:01.182411Z ES pid 12757 fence 1 #1 CANONICAL_MARKET_LOCK_ACQUIRED fence=1 host=vm`.
/// The event's data follows as `key=value` in the file's order; a string with a space, a quote or
/// an `=` is written as JSON (quoted), every other value as its JSON text.
public enum EventText {
    public static func line(_ event: Event) -> String {
        var out = "\(event.ts) \(event.market) pid \(event.pid) fence \(event.fence)"
        if let seq = event.seq { out += " #\(seq)" }
        out += " " + event.type
        for (key, value) in event.data.members {
            out += " " + key + "=" + text(value)
        }
        return out
    }

    static func text(_ value: JSONValue) -> String {
        if case .string(let s) = value, !s.isEmpty, !s.contains(where: { $0 == " " || $0 == "\"" || $0 == "=" || $0.isNewline }) {
            return s
        }
        var bytes: [UInt8] = []
        value.write(into: &bytes)
        return String(decoding: bytes, as: UTF8.self)
    }
}
