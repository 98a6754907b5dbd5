import Foundation
import Wire

/// Converts an event's UTC time to America/Chicago, as operators of CME markets read it:
/// `2026-11-21T07:15:00.5Z` -> `2026-11-21T01:15:00.5-06:00` (CST), `-05:00` under daylight time.
/// The fraction keeps the digits the event had. Needs the system's tzdata.
public enum ChicagoTime {
    static let zone = TimeZone(identifier: "America/Chicago")

    /// The Chicago form of `utc`, or nil when `utc` is not an ISO 8601 UTC time with a fraction
    /// (the event decoder already refused those) or tzdata lacks the zone.
    public static func format(utc: String) -> String? {
        guard let micros = UTCTimestamp.parse(utc), let zone,
            let dot = utc.firstIndex(of: "."), let z = utc.lastIndex(of: "Z")
        else { return nil }
        let seconds = micros >= 0 ? micros / 1_000_000 : (micros - 999_999) / 1_000_000
        let offset = zone.secondsFromGMT(for: Date(timeIntervalSince1970: TimeInterval(seconds)))
        let local = UTCTimestamp.format(micros: (seconds + Int64(offset)) * 1_000_000)
        let sign = offset < 0 ? "-" : "+"
        let hours = abs(offset) / 3600
        let minutes = abs(offset) / 60 % 60
        return local.prefix(19) + String(utc[dot..<z]) + sign + two(hours) + ":" + two(minutes)
    }

    private static func two(_ v: Int) -> String { v < 10 ? "0\(v)" : "\(v)" }
}
