import Wire

/// Renders a `StatusReport` as the operator's table: one market per row, the identity badge
/// (`IDENTITY OK` green, `IDENTITY VIOLATION` red, `IDENTITY UNKNOWN` before the first check),
/// the mode (marked `latched` while a latch holds it), the worker's health and open orders; under
/// each row the latch and why, unhealthy reasons, each violation, open order and open alert. Colour only when asked (a terminal
/// without NO_COLOR: the caller decides).
public struct StatusTable {
    public var colour: Bool

    public init(colour: Bool) { self.colour = colour }

    public func render(_ report: StatusReport, only market: String? = nil) -> String {
        let names = market.map { [$0] } ?? Array(Set(report.configuredMarkets).union(report.markets.keys)).sorted()
        let header = ["MARKET", "EXEC", "HOLDER", "MODE", "HEALTH", "HEARTBEAT", "IDENTITY", "ORDERS", "ALERTS"]
        var rows: [([String], [String])] = []
        for name in names {
            guard let m = report.markets[name] else {
                rows.append(([name, "-", "no events yet", "-", "-", "-", "IDENTITY UNKNOWN", "0", "0"], []))
                continue
            }
            let holder = m.lock.map { "pid \($0.pid) fence \($0.fence)" } ?? "none"
            let heartbeat = "\(m.heartbeatState.rawValue) \(SecondsText.tenths(m.heartbeatAgeSeconds))s"
            let badge: String
            switch m.lastIdentityInvariantsPass {
            case true?: badge = "IDENTITY OK"
            case false?: badge = "IDENTITY VIOLATION"
            case nil: badge = "IDENTITY UNKNOWN"
            }
            let open = m.alerts + m.inhibitedAlerts
            let mode = (m.mode ?? "-") + (m.latch == nil ? "" : " (latched)")
            let health = m.health.map { $0.healthy ? "healthy" : "UNHEALTHY" } ?? "-"
            var notes: [String] = []
            if let latch = m.latch {
                notes.append("latch: \(latch.trigger): \(latch.reason)" + (latch.latchedAtUTC.map { " (since \($0))" } ?? ""))
            }
            if let h = m.health, !h.healthy { notes += h.reasons.map { "unhealthy: " + $0 } }
            if m.lastIdentityInvariantsPass == false { notes += m.lastIdentityViolations.map { "violation: " + $0 } }
            notes += (m.ordersRefused ?? []).map { "orders refused: " + $0 }
            if let raise = m.lastFenceRaise { notes.append("fence raised: " + raise) }
            if let lease = m.lease { notes.append(lease.line) }
            notes += m.openOrders.map { o in
                "order: \(o.clientOrderID) \(o.side) \(o.quantity) \(o.symbol) on \(o.stream)"
                    + (o.limit.map { " limit \($0)" } ?? " at market")
            }
            notes += open.map { "\($0.severity.rawValue) \($0.alertID)\($0.acknowledged ? " (acknowledged)" : ""): \($0.title)" }
            rows.append(
                (
                    [
                        name, m.executionInstrument ?? "-", holder, mode, health, heartbeat, badge, String(m.openOrders.count),
                        String(open.count),
                    ], notes
                ))
        }
        var widths = header.map(\.count)
        for (cells, _) in rows { for (i, c) in cells.enumerated() { widths[i] = max(widths[i], c.count) } }
        func line(_ cells: [String]) -> String {
            var out = ""
            for (i, c) in cells.enumerated() {
                let padded = i == cells.count - 1 ? c : c + String(repeating: " ", count: widths[i] - c.count) + "  "
                out += paint(padded, cell: c)
            }
            return out
        }
        var out = line(header) + "\n"
        for (cells, notes) in rows {
            out += line(cells) + "\n"
            for n in notes { out += "    " + n + "\n" }
        }
        return out
    }

    private func paint(_ text: String, cell: String) -> String {
        guard colour else { return text }
        switch cell {
        case "IDENTITY OK": return "\u{1B}[32m" + text + "\u{1B}[0m"
        case "IDENTITY VIOLATION": return "\u{1B}[31m" + text + "\u{1B}[0m"
        default: return text
        }
    }
}
