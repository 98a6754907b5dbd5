import Foundation
import Platform
import Wire

/// Running `paper-venue` and talking to it and to a worker's control socket, for the venue tests.
extension TestHome {
    var venueSocket: String { socketDir + "/paper-venue.sock" }
    var venueState: String { stateDir + "/paper-venue" }
    func workerSocket(_ market: String = "ES") -> String { socketDir + "/worker-\(market).sock" }

    /// A configuration whose ES market uses the paper venue, with a fast feed and no watchdog.
    static func venueConfig(
        venue: String = "{\"kind\": \"paper\"}", safety: String = "{\"trade_without_watchdog\": true}", rate: Int = 50,
        feed: String? = nil
    ) -> TestConfig {
        var config = TestConfig()
        config.markets = ["ES": ("MES", [("ES1", "ES"), ("ES2", "ES")])]
        config.feeds["ES"] = feed ?? "{\"kind\": \"synthetic\", \"rate_per_second\": \(rate)}"
        config.extraSections["venue"] = venue
        config.extraSections["safety"] = safety
        return config
    }

    /// Starts `paper-venue` and waits until it serves its socket.
    @discardableResult
    func startVenue(socket: String? = nil) throws -> RunningProcess {
        let p = try start("paper-venue", ["run"], name: "venue")
        let path = socket ?? venueSocket
        try waitFor("the paper venue to serve \(path)", seen: { p.stderr }) { UnixSocket.isServing(path) ? true : nil }
        return p
    }

    /// Starts an ES worker and waits for its control socket.
    @discardableResult
    func startWorker(_ market: String = "ES", environment: [String: String] = [:]) throws -> RunningProcess {
        let p = try start("robot-worker", ["--market", market], environment: environment, name: "worker")
        try waitFor("\(market)'s control socket", seen: { p.stderr }) { UnixSocket.isServing(workerSocket(market)) ? true : nil }
        return p
    }

    /// The worker's last mode, from its journal.
    func mode(_ market: String = "ES") -> String? {
        events(market, type: .systemModeChange).last?.data["to"]?.stringValue
    }

    /// One request to a worker's control socket; the answer's JSON object.
    func control(_ request: String, market: String = "ES", timeout: Double = 10) throws -> JSONObject {
        let client = try LineClient(path: workerSocket(market))
        try client.send(Array((request + "\n").utf8))
        guard case .object(let o) = try JSONParser.parse(try client.readLine(timeoutSeconds: timeout)) else {
            throw TestFailure("not an object")
        }
        return o
    }
}

/// A blocking Unix stream client whose lines have no length limit (a venue's state can be large).
final class RawLineSocket {
    let fd: Int32
    private var buffer: [UInt8] = []

    init(path: String) throws {
        fd = try UnixSocket.connect(path: path, nonBlocking: false)
        var tv = timeval(tv_sec: 10, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
    }
    deinit { close(fd) }

    func send(_ bytes: [UInt8]) throws {
        var done = 0
        while done < bytes.count {
            let n = bytes.withUnsafeBytes { Glibc.send(fd, $0.baseAddress! + done, $0.count - done, Int32(MSG_NOSIGNAL)) }
            guard n > 0 else { throw TestFailure("send: \(String(cString: strerror(errno)))") }
            done += n
        }
    }

    func readLine() throws -> [UInt8] {
        var chunk = [UInt8](repeating: 0, count: 65536)
        while !buffer.contains(10) {
            let n = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            guard n > 0 else { throw TestFailure("recv: \(n < 0 ? String(cString: strerror(errno)) : "closed")") }
            buffer += chunk[0..<n]
        }
        let end = buffer.firstIndex(of: 10)!
        let line = Array(buffer[..<end])
        buffer.removeFirst(end + 1)
        return line
    }
}

/// A venue client speaking the protocol by hand (hello first).
final class VenueProbe {
    let client: RawLineSocket

    init(path: String, account: String = "default", market: String = "ES", fence: Int64) throws {
        client = try RawLineSocket(path: path)
        let welcome = try ask(#"{"v":1,"type":"hello","account":"\#(account)","market":"\#(market)","fence":\#(fence)}"#)
        guard welcome["type"]?.stringValue == "welcome" else { throw TestFailure("no welcome: \(welcome)") }
    }

    /// Sends one line and reads one answer.
    func ask(_ line: String) throws -> JSONObject {
        try client.send(Array((line + "\n").utf8))
        return try read()
    }

    func read() throws -> JSONObject {
        guard case .object(let o) = try JSONParser.parse(try client.readLine()) else { throw TestFailure("not an object") }
        return o
    }

    /// The venue's state for the account and market, with `ids` whatever their status.
    func state(ids: [String]) throws -> (orders: [VenueOrder], positions: [VenuePosition]) {
        let idsJSON = ids.map { "\"\($0)\"" }.joined(separator: ",")
        let o = try ask(#"{"v":1,"type":"state","id":1,"ids":[\#(idsJSON)]}"#)
        return (
            (o["orders"]?.arrayValue ?? []).compactMap { VenueOrder($0) },
            (o["positions"]?.arrayValue ?? []).compactMap { VenuePosition($0) }
        )
    }
}
