/// Seconds as operators read them in log lines and status: `0.31 s`, `3.1 s`, `42 s`.
enum SecondsText {
    static func format(_ seconds: Double) -> String {
        let s = max(0, seconds)
        if s < 1 { return fixed(s, digits: 2) + " s" }
        if s < 10 { return fixed(s, digits: 1) + " s" }
        return String(Int64(s.rounded())) + " s"
    }

    /// `value` with `digits` decimals, without Foundation.
    static func fixed(_ value: Double, digits: Int) -> String {
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
