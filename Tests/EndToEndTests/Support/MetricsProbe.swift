import Foundation
import Testing
import Wire

/// An HTTP answer read off a raw socket.
struct HTTPAnswer {
    var status: Int
    var headers: [String: String]
    var body: String
}

/// One sample of a parsed exposition.
struct MetricSample {
    var name: String
    var labels: [String: String]
    var value: Double
}

/// A `/metrics` exposition parsed by prometheus_client's text parser (scripts/parse-metrics.py).
struct Exposition {
    var families: [String: String]
    var samples: [MetricSample]

    /// The value of the one sample named `name` whose labels include `labels`; nil when absent.
    func value(_ name: String, _ labels: [String: String] = [:]) -> Double? {
        samples.first { sample in sample.name == name && labels.allSatisfy { sample.labels[$0.key] == $0.value } }?.value
    }

    func samples(_ name: String) -> [MetricSample] { samples.filter { $0.name == name } }
}

/// Talks to a process's `/metrics` the way Prometheus does, and validates what it serves.
enum MetricsProbe {
    /// A TCP port on 127.0.0.1 that was free a moment ago (bound to 0 and released).
    static func freePort() throws -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw TestFailure("socket: \(errno)") }
        defer { close(fd) }
        var address = loopback(port: 0)
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard bound == 0 else { throw TestFailure("bind: \(errno)") }
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
        }
        return Int(UInt16(bigEndian: address.sin_port))
    }

    /// A socket listening on 127.0.0.1:`port` (to occupy a port); close it when done.
    static func occupy(port: Int) throws -> Int32 {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var address = loopback(port: port)
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard fd >= 0, bound == 0, listen(fd, 1) == 0 else { throw TestFailure("cannot occupy port \(port): \(errno)") }
        return fd
    }

    /// One HTTP/1.1 request with `Connection: close`; the whole answer. Throws when nothing answers.
    static func request(port: Int, method: String = "GET", path: String = "/metrics", timeout: Double = 5) throws -> HTTPAnswer {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw TestFailure("socket: \(errno)") }
        defer { close(fd) }
        var tv = timeval(tv_sec: Int(timeout), tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
        var address = loopback(port: port)
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard connected == 0 else { throw TestFailure("connect 127.0.0.1:\(port): errno \(errno)") }
        let body = method == "POST" ? "x=1" : ""
        let text =
            "\(method) \(path) HTTP/1.1\r\nHost: 127.0.0.1:\(port)\r\nConnection: close\r\nContent-Length: \(body.utf8.count)\r\n\r\n\(body)"
        _ = Array(text.utf8).withUnsafeBytes { send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 65536)
        while true {
            let n = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if n <= 0 { break }
            bytes += chunk[0..<n]
        }
        let answer = String(decoding: bytes, as: UTF8.self)
        guard let split = answer.range(of: "\r\n\r\n") else { throw TestFailure("no HTTP answer from port \(port): \(answer)") }
        let head = answer[..<split.lowerBound].components(separatedBy: "\r\n")
        let statusParts = head[0].split(separator: " ")
        guard statusParts.count >= 2, let status = Int(statusParts[1]) else { throw TestFailure("bad status line: \(head[0])") }
        var headers: [String: String] = [:]
        for line in head.dropFirst() {
            guard let colon = line.firstIndex(of: ":") else { continue }
            headers[line[..<colon].lowercased()] = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
        }
        return HTTPAnswer(status: status, headers: headers, body: String(answer[split.upperBound...]))
    }

    /// GET /metrics, checked for status and content type, then parsed strictly.
    static func scrape(port: Int) throws -> Exposition {
        let answer = try request(port: port)
        guard answer.status == 200 else { throw TestFailure("GET /metrics: \(answer.status) \(answer.body)") }
        guard answer.headers["content-type"]?.hasPrefix("text/plain; version=0.0.4") == true else {
            throw TestFailure("content type \(answer.headers["content-type"] ?? "none")")
        }
        return try parse(answer.body)
    }

    /// Waits until the process serves /metrics and `probe` accepts what it serves.
    @discardableResult
    static func waitForScrape<T>(port: Int, _ what: String, timeout: Double = 10, _ probe: (Exposition) -> T?) throws -> T {
        var last = "no answer"
        return try waitFor(what, timeout: timeout, seen: { last }) { () -> T? in
            guard let exposition = try? scrape(port: port) else { return nil }
            last = "\(exposition.samples.count) samples"
            return probe(exposition)
        }
    }

    /// Runs prometheus_client's parser (in the package's .build-venv, made by scripts/prometheus-venv
    /// when missing) over `text`; fails on anything it rejects.
    static func parse(_ text: String) throws -> Exposition {
        let python = packageRoot + "/.build-venv/bin/python"
        if !FileManager.default.isExecutableFile(atPath: python) {
            try run(packageRoot + "/scripts/prometheus-venv", [], input: "")
        }
        let out = try run(python, [packageRoot + "/scripts/parse-metrics.py"], input: text)
        guard let root = try JSONParser.parse(Array(out.utf8)).objectValue else { throw TestFailure("parser output: \(out)") }
        var families: [String: String] = [:]
        for f in root["families"]?.arrayValue ?? [] {
            if let o = f.objectValue, let name = o["name"]?.stringValue { families[name] = o["type"]?.stringValue ?? "" }
        }
        var samples: [MetricSample] = []
        for s in root["samples"]?.arrayValue ?? [] {
            guard let o = s.objectValue, let name = o["name"]?.stringValue else { continue }
            var labels: [String: String] = [:]
            for (k, v) in o["labels"]?.objectValue?.members ?? [] { labels[k] = v.stringValue }
            let value = o["value"]?.doubleValue ?? (o["value"]?.stringValue == "+Inf" ? .infinity : .nan)
            samples.append(MetricSample(name: name, labels: labels, value: value))
        }
        return Exposition(families: families, samples: samples)
    }

    @discardableResult
    private static func run(_ executable: String, _ arguments: [String], input: String) throws -> String {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: executable)
        p.arguments = arguments
        let stdin = Pipe()
        let stdout = Pipe()
        let stderr = Pipe()
        p.standardInput = stdin
        p.standardOutput = stdout
        p.standardError = stderr
        try p.run()
        stdin.fileHandleForWriting.write(Data(input.utf8))
        try stdin.fileHandleForWriting.close()
        let out = stdout.fileHandleForReading.readDataToEndOfFile()
        let err = stderr.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        guard p.terminationStatus == 0 else {
            throw TestFailure("\(executable) failed (\(p.terminationStatus)): \(String(decoding: err, as: UTF8.self))")
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// The package's root folder (this file is Tests/EndToEndTests/Support/MetricsProbe.swift).
    static let packageRoot: String = {
        var url = URL(fileURLWithPath: #filePath)
        for _ in 0..<4 { url = url.deletingLastPathComponent() }
        return url.path
    }()

    private static func loopback(port: Int) -> sockaddr_in {
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = UInt16(port).bigEndian
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        return address
    }
}

extension TestConfig {
    /// This configuration with a `metrics` section.
    func withMetrics(supervisorPort: Int? = nil, watchdogPort: Int? = nil, workerPorts: [String: Int] = [:]) -> TestConfig {
        var c = self
        var parts = ["\"host\": \"127.0.0.1\""]
        if let supervisorPort { parts.append("\"supervisor_port\": \(supervisorPort)") }
        if let watchdogPort { parts.append("\"watchdog_port\": \(watchdogPort)") }
        let workers = workerPorts.sorted { $0.key < $1.key }.map { "\"\($0.key)\": \($0.value)" }.joined(separator: ", ")
        parts.append("\"worker_ports\": {\(workers)}")
        c.extraSections["metrics"] = "{" + parts.joined(separator: ", ") + "}"
        return c
    }
}
