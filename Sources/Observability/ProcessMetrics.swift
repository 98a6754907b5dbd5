import Prometheus

#if canImport(Glibc)
import Glibc
#endif

/// `robot_process_resident_memory_bytes` and `robot_process_start_time_seconds` for the calling
/// process, registered in `registry`.
///
/// Use one per process; `MetricsServer` calls `refresh()` before each scrape, on its own thread
/// (reading `/proc/self` is safe from any thread), so the reactor never spends time on it. A
/// `/proc` that cannot be read leaves the last value (0 at first): a metric never fails a scrape.
public final class ProcessMetrics: Sendable {
    private let residentMemory: Gauge

    public init(registry: PrometheusCollectorRegistry) {
        residentMemory = registry.gauge(.processResidentMemoryBytes)
        registry.gauge(.processStartTimeSeconds).set(to: Self.startTimeSeconds() ?? Self.nowSeconds())
        refresh()
    }

    /// Reads the resident set size again.
    public func refresh() {
        if let rss = Self.residentBytes() { residentMemory.set(to: Double(rss)) }
    }

    /// The resident set size from `/proc/self/statm` (pages times the page size), or nil.
    public static func residentBytes() -> Int64? {
        guard let text = readSmallFile("/proc/self/statm") else { return nil }
        let fields = text.split(separator: " ")
        guard fields.count > 1, let pages = Int64(fields[1]) else { return nil }
        return pages * Int64(sysconf(Int32(_SC_PAGESIZE)))
    }

    /// When this process started, in Unix seconds: the boot time (`btime` of `/proc/stat`) plus the
    /// process's `starttime` (field 22 of `/proc/self/stat`, in clock ticks since boot).
    public static func startTimeSeconds() -> Double? {
        guard let stat = readSmallFile("/proc/self/stat"), let close = stat.lastIndex(of: ")") else { return nil }
        // Fields after the command name start at field 3 (state); starttime is field 22.
        let rest = stat[stat.index(after: close)...].split(separator: " ")
        guard rest.count > 19, let ticks = Double(rest[19]) else { return nil }
        guard let system = readSmallFile("/proc/stat", limit: 1 << 16),
            let line = system.split(separator: "\n").first(where: { $0.hasPrefix("btime ") }),
            let boot = Double(line.dropFirst(6).trimmingPrefix(" "))
        else { return nil }
        return boot + ticks / Double(sysconf(Int32(_SC_CLK_TCK)))
    }

    static func nowSeconds() -> Double {
        var ts = timespec()
        clock_gettime(CLOCK_REALTIME, &ts)
        return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
    }

    private static func readSmallFile(_ path: String, limit: Int = 4096) -> String? {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var buffer = [UInt8](repeating: 0, count: limit)
        var total = 0
        while total < limit {
            let n = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress! + total, limit - total) }
            if n < 0, errno == EINTR { continue }
            if n <= 0 { break }
            total += n
        }
        guard total > 0 else { return nil }
        return String(decoding: buffer[0..<total], as: UTF8.self)
    }
}
