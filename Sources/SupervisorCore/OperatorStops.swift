import Platform
import Wire

#if canImport(Glibc)
import Glibc
#endif

/// The markets an operator stopped, remembered across supervisor restarts until an operator starts
/// them again (like s6's `down` file): one small file per market, `<state_dir>/supervisor/stopped/<MARKET>`,
/// holding the UTC time of the stop. Written (file and folder fsynced) before the supervisor answers
/// the stop; removed (folder fsynced) when an operator starts or restarts the market. At start-up
/// and on a reload the supervisor leaves a market with such a file STOPPED.
struct OperatorStops {
    let folder: String

    init(stateDir: String) { folder = stateDir + "/supervisor/stopped" }

    private func file(_ market: String) -> String { folder + "/" + market }

    /// Every recorded stop: market -> UTC time of the stop. A file that cannot be read counts as a
    /// stop "at an unknown time" (fail closed: the market stays stopped).
    func load(_ markets: [String]) -> [String: String] {
        var out: [String: String] = [:]
        for market in markets {
            var st = stat()
            guard lstat(file(market), &st) == 0 else { continue }
            let text = (try? FileIO.readFile(file(market), limit: 256)).map { String(decoding: $0, as: UTF8.self) }
            let since = text?.split(separator: "\n").first.map(String.init) ?? ""
            out[market] = since.isEmpty ? "an unknown time" : since
        }
        return out
    }

    /// Records the stop of `market` at `utc`, durably.
    func record(_ market: String, utc: String) throws(SystemError) {
        try Directories.make(folder)
        try FileIO.replaceAtomically(file(market), Array((utc + "\n").utf8))
    }

    /// Forgets the stop of `market`, durably; nothing to do when none is recorded.
    func clear(_ market: String) throws(SystemError) {
        guard unlink(file(market)) == 0 else {
            if errno == ENOENT { return }
            throw SystemError("unlink \(file(market))")
        }
        try FileIO.syncDirectory(of: file(market))
    }

    /// Carries out an operator's command on the remembered stops and on `stops` (market -> since):
    /// `stop` records it, `start` (or a `restart` of a remembered stop) forgets it. Returns the
    /// error when the file could not be written or removed; a failed forget still forgets in
    /// `stops`, so the market is not held back by a stop the operator lifted.
    func apply(_ command: ControlRequest.Command, market: String, to stops: inout [String: String]) -> SystemError? {
        do {
            if command == .stop {
                let since = UTCTimestamp.now()
                try record(market, utc: since)
                stops[market] = since
            } else if stops[market] != nil || command == .start {
                try clear(market)
                stops[market] = nil
            }
            return nil
        } catch {
            if command != .stop { stops[market] = nil }
            return error
        }
    }
}
