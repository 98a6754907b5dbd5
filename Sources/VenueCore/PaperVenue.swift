import Logging
import Platform
import ProcessShell
import RobotConfig
import Wire

#if canImport(Glibc)
import Glibc
#endif

/// `paper-venue run`: loads the configuration, replays its journal, listens on the venue socket
/// (and `venue.address` on loopback), drives each market's feed and serves until SIGTERM/SIGINT
/// (docs/paper-venue.md). Exit statuses: 0 stopped, 71 cannot listen, 73 cannot open its state,
/// 74 its journal cannot be written, 78 configuration error.
public enum PaperVenue {
    static let log = ProcessLog("paper-venue", level: .info, failureEvent: "VENUE_START_FAILED")

    /// The price source of one market: `next(timeUTC)` gives its next tick.
    public typealias Feed = (market: String, interval: Double, next: (String) -> Double)

    public static func run(location: ConfigLocation, feeds makeFeeds: (Configuration) -> [Feed]) -> Int32 {
        let reactor: Reactor
        do {
            reactor = try ProcessShell.begin(identifier: "paper-venue", environment: location.environment, signals: [SIGTERM, SIGINT])
        } catch {
            log.note("\(error)", .error)
            return 71
        }
        let config: Configuration
        do { config = try location.load() } catch {
            log.note("\(error)", .error)
            return 78
        }
        let v = config.venue
        var book = PaperBook()
        let journal: PaperJournal
        do { journal = try PaperJournal(folder: v.stateDir, book: &book) } catch {
            log.note("\(v.stateDir): cannot open the venue's journal: \(error)", .error)
            return 73
        }
        if journal.skipped > 0 {
            log.note("\(journal.path): skipped \(journal.skipped) line(s) that are not records (a torn tail?)", .warning)
        }
        var token: String?
        if v.tcpHost != nil {
            do { token = try tcpToken(v.tokenFile) } catch {
                log.note("\(v.tokenFile): cannot read or create the TCP token: \(error)", .error)
                return 73
            }
        }
        let server = PaperVenueServer(reactor: reactor, book: book, journal: journal, token: token)
        server.note = { log.note($0, .warning) }
        do {
            try Directories.make(config.paths.socketDir)
            if UnixSocket.isServing(v.socket) {
                log.note("\(v.socket): another paper venue serves this socket", .error)
                return 71
            }
            unlink(v.socket)
            try server.listen(unix: v.socket)
            if let host = v.tcpHost, let port = v.tcpPort { try server.listen(tcpHost: host, port: port) }
        } catch {
            log.note("cannot listen: \(error)", .error)
            return 71
        }
        for feed in makeFeeds(config) { schedule(feed, server: server, reactor: reactor) }
        try? reactor.onSignals([SIGTERM, SIGINT]) { [unowned reactor] _ in
            SdNotify.send("STOPPING=1")
            reactor.stop()
        }
        log.note(
            "serving \(v.socket)\(v.tcpHost.map { " and \($0):\(v.tcpPort ?? 0)" } ?? ""), \(book.orderCount) order(s) from \(journal.path)",
            .notice)
        SdNotify.send("READY=1")
        SdNotify.send(SdNotify.statusLine("paper venue: \(v.socket), \(book.orderCount) order(s)"))
        ProcessShell.pingWatchdog(on: reactor)
        reactor.run()
        unlink(v.socket)
        return 0
    }

    private static func schedule(_ feed: Feed, server: PaperVenueServer, reactor: Reactor) {
        reactor.schedule(afterSeconds: feed.interval) { [unowned server, unowned reactor] in
            let now = UTCTimestamp.now()
            server.tick(market: feed.market, price: feed.next(now), timeUTC: now)
            schedule(feed, server: server, reactor: reactor)
        }
    }

    /// The token a TCP client presents: read from `path`, or made (32 random hex digits, mode 0600).
    static func tcpToken(_ path: String) throws(SystemError) -> String {
        if let bytes = try FileIO.readFile(path, limit: 4096),
            let t = String(decoding: bytes, as: UTF8.self).split(whereSeparator: \.isWhitespace).first
        {
            return String(t)
        }
        let token = (0..<4).map { _ in String(UInt32.random(in: .min ... .max), radix: 16) }.map {
            String(repeating: "0", count: 8 - $0.count) + $0
        }.joined()
        try FileIO.replaceAtomically(path, Array((token + "\n").utf8), mode: 0o600)
        return token
    }
}
