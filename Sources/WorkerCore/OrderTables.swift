import Wire

/// `robot-worker orders` and `robot-worker positions` as tables (docs/robot-worker.md).
public enum OrderTables {
    public static func orders(_ r: WorkerResponse) -> String {
        var rows = [["CLIENT ORDER ID", "STREAM", "SYMBOL", "SIDE", "QTY", "LIMIT", "STATUS", "FENCE", "ACCEPTED"]]
        for o in r.orders {
            rows.append([
                o.clientOrderID, o.stream, o.symbol, o.side.rawValue, String(o.quantity), o.limit.map { number($0) } ?? "market",
                o.status.rawValue, o.fence.map(String.init) ?? "-", o.acceptedAtUTC ?? "-",
            ])
        }
        return "mode \(r.mode), \(r.orders.count) open order(s)\n" + table(rows)
    }

    public static func positions(_ r: WorkerResponse) -> String {
        var rows = [["INSTRUMENT", "SIDE", "QTY", "AVG PRICE", "REALIZED P&L"]]
        for p in r.positions ?? [] {
            rows.append([p.symbol, p.side, String(p.quantity), number(p.averagePrice), number(p.realizedPnL)])
        }
        var out = table(rows)
        if let l = r.ledger {
            let f = { (k: String) in number(l[k] ?? 0) }
            out +=
                "\ncapital: allocated \(f("allocated")) - reserved for orders \(f("reserved_for_orders")) - reserved for positions "
                + "\(f("reserved_for_positions")) + realized P&L \(f("realized_pnl")) = available \(f("available"))"
        }
        return out
    }

    static func number(_ d: Double) -> String { d == d.rounded() && abs(d) < 1e15 ? String(Int64(d)) : String(d) }

    static func table(_ rows: [[String]]) -> String {
        let widths = (0..<rows[0].count).map { i in rows.map { $0[i].count }.max() ?? 0 }
        return rows.map { row in
            row.enumerated().map { i, cell in i == row.count - 1 ? cell : cell + String(repeating: " ", count: widths[i] - cell.count + 2) }
                .joined()
        }.joined(separator: "\n")
    }
}
