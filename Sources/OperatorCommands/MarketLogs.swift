import RobotConfig
import Wire

#if canImport(Glibc)
import Glibc
#endif

/// `supervisor logs MARKET [-n N] [-f] [--json]`: a market's journal (`<state_dir>/MARKET/events.ndjson`,
/// every event its workers wrote) in a readable form, one `EventText` line per event; `--json` the
/// lines as written. `-f` keeps following it: new lines as they are appended, from the start again
/// when the file is replaced or cut (a new file, a quarantine), until Ctrl-C. Only complete lines
/// are shown: a line being written is shown once its newline is there.
public enum MarketLogs {
    public enum Outcome: Sendable, Equatable {
        case shown
        /// The market has no journal yet (never ran here).
        case noJournal(String)
        case unknownMarket(String)
        case config(String)
    }

    public static func run(market: String, lines: Int?, follow: Bool, json: Bool, location: ConfigLocation) -> Outcome {
        let config: Configuration
        do { config = try location.load() } catch { return .config("\(error)") }
        let canonical: String
        do {
            guard let name = try MarketSelection.resolve([market], map: config.instrumentMap, known: config.marketNames).first else {
                return .unknownMarket("name one market")
            }
            canonical = name
        } catch { return .unknownMarket("\(error)") }
        let path = config.paths.stateDir + "/" + canonical + "/events.ndjson"
        var reader = Reader(path: path)
        guard reader.open() else {
            return .noJournal(
                "\(canonical) has no journal at \(path) (\(String(cString: strerror(errno)))); configuration: \(config.source)")
        }
        var first = reader.readLines()
        if let lines { first = Array(first.suffix(max(0, lines))) }
        emit(first, json: json)
        guard follow else { return .shown }
        DefaultSignals.restore()
        while true {
            var pause = timespec(tv_sec: 0, tv_nsec: 200_000_000)
            var left = timespec()
            while nanosleep(&pause, &left) != 0 && errno == EINTR { pause = left }
            if reader.replaced() { _ = reader.open() }
            emit(reader.readLines(), json: json)
        }
    }

    private static func emit(_ lines: [[UInt8]], json: Bool) {
        guard !lines.isEmpty else { return }
        var out = ""
        for line in lines {
            if json {
                out += String(decoding: line, as: UTF8.self)
            } else if let event = try? Event.decode(line: line) {
                out += EventText.line(event)
            } else {
                out += "(not an event) " + String(decoding: line.prefix(300), as: UTF8.self)
            }
            out += "\n"
        }
        var bytes = Array(out.utf8)
        var offset = 0
        while offset < bytes.count {
            let n = bytes.withUnsafeMutableBytes { write(1, $0.baseAddress! + offset, $0.count - offset) }
            if n < 0 {
                if errno == EINTR { continue }
                exit(0)
            } // the reader went away
            offset += n
        }
    }

    /// The journal file, read to its last complete line.
    struct Reader {
        let path: String
        var fd: Int32 = -1
        var inode: ino_t = 0
        var offset: off_t = 0
        var partial: [UInt8] = []

        init(path: String) { self.path = path }

        mutating func open() -> Bool {
            if fd >= 0 { close(fd) }
            fd = Glibc.open(path, O_RDONLY | O_CLOEXEC)
            guard fd >= 0 else { return false }
            var st = stat()
            fstat(fd, &st)
            inode = st.st_ino
            offset = 0
            partial = []
            return true
        }

        /// True when the path now names another file, or the file got shorter than what was read.
        func replaced() -> Bool {
            var st = stat()
            guard stat(path, &st) == 0 else { return false }
            return st.st_ino != inode || st.st_size < offset || fd < 0
        }

        mutating func readLines() -> [[UInt8]] {
            guard fd >= 0 else { return [] }
            var chunk = [UInt8](repeating: 0, count: 65536)
            var lines: [[UInt8]] = []
            while true {
                let n = chunk.withUnsafeMutableBytes { pread(fd, $0.baseAddress, $0.count, offset) }
                if n < 0 {
                    if errno == EINTR { continue }
                    break
                }
                if n == 0 { break }
                offset += off_t(n)
                for byte in chunk[0..<n] {
                    if byte == UInt8(ascii: "\n") {
                        if !partial.isEmpty { lines.append(partial) }
                        partial = []
                    } else {
                        partial.append(byte)
                    }
                }
            }
            return lines
        }
    }
}
