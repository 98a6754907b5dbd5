/// Seconds as people read them, in log lines, alerts and status, for every program. Three
/// presentations, each kept exactly as operators and tests know it:
/// - `format`: with its unit, precision by size: `0.31 s`, `3.1 s`, `42 s` (the supervisor's lines);
/// - `compact`: a whole number bare, else one decimal, no unit: `600`, `300.5` (the worker's
///   health and fail-safe reasons, thresholds as configured);
/// - `tenths`: cut (not rounded) to tenths, no unit: `12.3` (the watchdog's heartbeat ages, so an
///   age never shows past its threshold before it is).
public enum SecondsText {
    public static func format(_ seconds: Double) -> String {
        let s = max(0, seconds)
        if s < 1 { return fixed(s, digits: 2) + " s" }
        if s < 10 { return fixed(s, digits: 1) + " s" }
        return String(Int64(s.rounded())) + " s"
    }

    public static func compact(_ seconds: Double) -> String {
        seconds == seconds.rounded() && abs(seconds) < 1e12 ? String(Int64(seconds)) : String((seconds * 10).rounded() / 10)
    }

    public static func tenths(_ seconds: Double) -> String { String(Double(Int(seconds * 10)) / 10) }

    /// `value` with `digits` decimals, without Foundation.
    public static func fixed(_ value: Double, digits: Int) -> String {
        var scale: Int64 = 1
        for _ in 0..<digits { scale *= 10 }
        let n = Int64((abs(value) * Double(scale)).rounded())
        let whole = String(n / scale)
        let frac = String(n % scale)
        let sign = value < 0 && n != 0 ? "-" : ""
        guard digits > 0 else { return sign + whole }
        return sign + whole + "." + String(repeating: "0", count: digits - frac.count) + frac
    }
}
