import Foundation
import Synchronization
import Wire

/// A tiny HTTP server on 127.0.0.1 for the tests: answers every request `200 OK` and keeps the
/// bodies of the POSTs it received. `stop` closes the port (connections are refused after it).
final class WebhookReceiver: Sendable {
    let port: Int
    private let listenFD: Int32
    private let bodies = Mutex<[String]>([])

    init(port: Int) throws {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw TestFailure("socket: \(errno)") }
        var one: Int32 = 1
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard bound == 0, listen(fd, 16) == 0 else {
            close(fd)
            throw TestFailure("cannot listen on 127.0.0.1:\(port): errno \(errno)")
        }
        self.port = port
        listenFD = fd
        let thread = Thread { [self] in serve() }
        thread.start()
    }

    /// The JSON documents received, in order.
    var received: [JSONObject] { bodies.withLock { $0 }.compactMap { try? JSONParser.parse(Array($0.utf8)).objectValue } }

    func stop() {
        shutdown(listenFD, Int32(SHUT_RDWR))
        close(listenFD)
    }

    private func serve() {
        while true {
            let client = accept(listenFD, nil, nil)
            if client < 0 {
                if errno == EINTR { continue }
                return
            }
            var tv = timeval(tv_sec: 5, tv_usec: 0)
            setsockopt(client, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
            var bytes: [UInt8] = []
            var chunk = [UInt8](repeating: 0, count: 65536)
            var body: String?
            while body == nil {
                let n = chunk.withUnsafeMutableBytes { recv(client, $0.baseAddress, $0.count, 0) }
                if n <= 0 { break }
                bytes += chunk[0..<n]
                let text = String(decoding: bytes, as: UTF8.self)
                guard let split = text.range(of: "\r\n\r\n") else { continue }
                let head = text[..<split.lowerBound].lowercased()
                let length =
                    head.components(separatedBy: "\r\n").first { $0.hasPrefix("content-length:") }
                    .flatMap { Int($0.dropFirst("content-length:".count).trimmingCharacters(in: .whitespaces)) } ?? 0
                let rest = Array(text[split.upperBound...].utf8)
                if rest.count >= length { body = String(decoding: rest.prefix(length), as: UTF8.self) }
            }
            if let body { bodies.withLock { $0.append(body) } }
            let answer = Array("HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n".utf8)
            _ = answer.withUnsafeBytes { send(client, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            close(client)
        }
    }
}

/// A real Prometheus Alertmanager (Debian's `prometheus-alertmanager`, which scripts/setup
/// installs) in a folder of the test's home, on a free loopback port, without clustering.
final class Alertmanager {
    static let binary = "/usr/bin/prometheus-alertmanager"
    let port: Int
    let process: RunningProcess

    init(home: TestHome) throws {
        guard FileManager.default.isExecutableFile(atPath: Self.binary) else {
            throw TestFailure("\(Self.binary) is missing: run scripts/setup (it installs prometheus-alertmanager)")
        }
        port = try MetricsProbe.freePort()
        let dir = home.path + "/alertmanager"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        try "route:\n  receiver: \"null\"\nreceivers:\n  - name: \"null\"\n".write(
            toFile: dir + "/am.yml", atomically: true, encoding: .utf8)
        process = try RunningProcess(
            executable: Self.binary,
            arguments: [
                "--config.file=\(dir)/am.yml", "--storage.path=\(dir)/data", "--web.listen-address=127.0.0.1:\(port)",
                "--cluster.listen-address=",
            ],
            environment: [:], logPrefix: dir + "/alertmanager")
        let p = process
        try waitFor("the Alertmanager to be ready on port \(port)", seen: { p.stderr }) {
            (try? MetricsProbe.request(port: port, path: "/-/ready"))?.status == 200 ? true : nil
        }
    }

    func stop() {
        process.signal(SIGTERM)
        _ = try? process.waitForExit()
    }

    /// One alert as `GET /api/v2/alerts` lists it (active ones; a resolved alert is not listed).
    struct Listed: Decodable {
        var labels: [String: String]
        var annotations: [String: String]
        var startsAt: String
        var endsAt: String
        var updatedAt: String
        var status: Status
        struct Status: Decodable { var state: String }
    }

    func alerts() throws -> [Listed] {
        let answer = try MetricsProbe.request(port: port, path: "/api/v2/alerts")
        guard answer.status == 200 else { throw TestFailure("GET /api/v2/alerts: \(answer.status) \(answer.body)") }
        return try JSONDecoder().decode([Listed].self, from: Data(answer.body.utf8))
    }
}
