#if canImport(Glibc)
import Glibc
#endif

/// `status --watch`: the status again every `interval` seconds until interrupted. On a terminal
/// each round redraws the screen in place (cursor home, clear, the text); otherwise (a pipe, a
/// file) each round is printed as plain lines after a `--- <UTC time>` separator, so a log of it
/// reads top to bottom. A round that fails (the server went away) prints its error and the watch
/// goes on; Ctrl-C ends it (the shell sees 130, as for any interrupted program).
public enum StatusWatch {
    /// One round: the text for stdout, and an error line for stderr (nil when it went well).
    public typealias Round = () -> (text: String, error: String?)

    public static func run(interval: Double, isTerminal: Bool = isatty(1) == 1, maxRounds: Int? = nil, _ round: Round) -> Never {
        DefaultSignals.restore()
        var rounds = 0
        while true {
            let (text, error) = round()
            if isTerminal {
                // Home, then the text with each line's rest cleared, then the rest of the screen.
                let body = text.split(separator: "\n", omittingEmptySubsequences: false).map { $0 + "\u{1B}[K" }.joined(separator: "\n")
                write("\u{1B}[H" + body + "\n" + (error.map { $0 + "\u{1B}[K\n" } ?? "") + "\u{1B}[J", to: 1)
            } else {
                write("--- \(utcNow())\n" + text + "\n", to: 1)
                if let error { write(error + "\n", to: 2) }
            }
            rounds += 1
            if let maxRounds, rounds >= maxRounds { exit(0) }
            var remaining = timespec(tv_sec: Int(interval), tv_nsec: Int((interval - interval.rounded(.down)) * 1e9))
            var left = timespec()
            while nanosleep(&remaining, &left) != 0 && errno == EINTR { remaining = left }
        }
    }

    private static func write(_ text: String, to fd: Int32) {
        var bytes = Array(text.utf8)
        var offset = 0
        while offset < bytes.count {
            let n = bytes.withUnsafeMutableBytes { Glibc.write(fd, $0.baseAddress! + offset, $0.count - offset) }
            if n < 0 {
                if errno == EINTR { continue }
                exit(0)
            } // the reader went away
            offset += n
        }
    }

    private static func utcNow() -> String {
        var now = time(nil)
        var parts = tm()
        gmtime_r(&now, &parts)
        var buffer = [CChar](repeating: 0, count: 32)
        let n = strftime(&buffer, buffer.count, "%Y-%m-%dT%H:%M:%SZ", &parts)
        return String(decoding: buffer.prefix(n).map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}
