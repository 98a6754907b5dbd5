import Platform
import ProcessShell
import RobotConfig
import Wire

#if canImport(Glibc)
import Glibc
#endif

/// `robot-worker verify --market M`: the full integrity check of a market's journal on demand
/// (every line of every sealed segment and of `events.ndjson`, the verified prefix ignored), and
/// whether the verified prefix still matches its checksums. Reads only; takes no lock, so it may
/// run beside the market's worker (lines appended meanwhile are simply not looked at).
///
/// Prints one line per finding on stdout (errors on stderr); exit 0 when the journal passes, 1 when
/// it is damaged or unreadable, 78 for a configuration error or an unknown market.
public enum JournalVerifyCommand {
    public static func run(symbol: String, location: ConfigLocation, print say: (String) -> Void = { print($0) }) -> ExitStatus {
        let config: Configuration
        do { config = try location.load() } catch {
            ClientError.print("robot-worker", "\(error)")
            return .config
        }
        let market: WorkerStartup.Market
        switch WorkerStartup.resolve(symbol, in: config) {
        case .success(let m): market = m
        case .failure(let failure):
            ClientError.print("robot-worker", failure.message)
            return failure.status
        }
        let path = config.paths.journal(market.market)
        var st = stat()
        guard stat(path, &st) == 0 else {
            let code = errno
            guard code == ENOENT else {
                ClientError.print("robot-worker", "\(path): \(String(cString: strerror(code)))")
                return .refused
            }
            say("\(market.canonical): \(path): no journal yet")
            return .ok
        }
        let identity = (UInt64(st.st_dev), UInt64(st.st_ino))
        let started = MonotonicClock.nowNanos()
        let full = JournalScan.run(journalPath: path, identity: identity, tornBytes: 0, full: true)
        full.closeFiles()
        let seconds = Double(MonotonicClock.nowNanos() - started) / 1e9
        let files = full.files.count
        let bytes = full.files.reduce(0) { $0 + $1.end }
        say(
            "\(market.canonical): \(path): full check of \(bytes) bytes in \(files) file(s) in "
                + "\(SecondsText.compact(seconds)) s: \(full.check.passed ? "OK" : "DAMAGED"): \(full.check.detail)")
        let prefix = JournalScan.run(journalPath: path, identity: identity, tornBytes: 0)
        prefix.closeFiles()
        say("\(market.canonical): verified prefix: \(prefix.check.passed ? "" : "DAMAGED: \(prefix.check.detail); ")\(prefix.summary)")
        return full.check.passed && prefix.check.passed ? .ok : .refused
    }
}
