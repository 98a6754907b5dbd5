import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// The partition proxy (scenarios/multihost/tcp_proxy.py) as a process a Swift test drives: a
/// loopback port that forwards to `upstreamPort` (the database), and `set(_:)` switches it to
/// `.stall` (nothing forwarded, nothing closed), `.close` (every connection closed, new ones
/// refused) or back to `.forward`; `set` returns once the proxy says the mode is in effect.
/// Ended by PID (`stop()`, or the end of its stdin when the test process dies).
public final class TCPProxy: @unchecked Sendable {
    public enum Mode: String, Sendable { case forward, stall, close }

    public let port: Int
    public private(set) var mode: Mode = .forward
    private let process = Process()
    private let input = Pipe()
    private let output = Pipe()
    private var buffered: [UInt8] = []

    /// The proxy script; `Tests/TestSupport/` is two levels below the package root.
    public static let script: String = {
        var url = URL(fileURLWithPath: #filePath)
        for _ in 0..<3 { url.deleteLastPathComponent() }
        return url.path + "/scenarios/multihost/tcp_proxy.py"
    }()

    public init(upstreamPort: Int, listenPort: Int = 0, timeout: Double = 10) throws {
        process.executableURL = URL(fileURLWithPath: "/usr/bin/python3")
        process.arguments = [Self.script, "--upstream", "\(upstreamPort)", "--listen", "\(listenPort)"]
        process.standardInput = input
        process.standardOutput = output
        process.standardError = FileHandle.standardError
        try process.run()
        let first = try Self.readLine(output.fileHandleForReading.fileDescriptor, &buffered, timeout: timeout)
        guard first.hasPrefix("PROXY_PORT "), let p = Int(first.dropFirst("PROXY_PORT ".count)) else {
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
            throw PostgresClusterError("the proxy said \(first.debugDescription), not PROXY_PORT <port>")
        }
        port = p
    }

    deinit { stop() }

    /// Switches the proxy's mode; returns when it is in effect (for `.close`: every connection closed).
    public func set(_ mode: Mode, timeout: Double = 10) throws {
        try input.fileHandleForWriting.write(contentsOf: Data((mode.rawValue + "\n").utf8))
        let answer = try Self.readLine(output.fileHandleForReading.fileDescriptor, &buffered, timeout: timeout)
        guard answer == "MODE \(mode.rawValue)" else {
            throw PostgresClusterError("the proxy answered \(answer.debugDescription) to \(mode)")
        }
        self.mode = mode
    }

    /// Ends the proxy by PID (SIGKILL; it holds nothing worth a clean exit) and reaps it.
    public func stop() {
        guard process.isRunning else { return }
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
    }

    /// One line from `fd`, waiting at most `timeout` seconds (poll(2), then read(2)).
    private static func readLine(_ fd: Int32, _ buffered: inout [UInt8], timeout: Double) throws -> String {
        let deadline = Date().addingTimeInterval(timeout)
        while true {
            if let nl = buffered.firstIndex(of: UInt8(ascii: "\n")) {
                let line = String(decoding: buffered[..<nl], as: UTF8.self)
                buffered.removeSubrange(...nl)
                return line
            }
            let left = deadline.timeIntervalSinceNow
            guard left > 0 else { throw PostgresClusterError("the proxy said nothing in \(timeout) s") }
            var pfd = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            guard poll(&pfd, 1, Int32(left * 1000) + 1) > 0 else { continue }
            var chunk = [UInt8](repeating: 0, count: 4096)
            let n = read(fd, &chunk, chunk.count)
            guard n > 0 else { throw PostgresClusterError("the proxy exited") }
            buffered += chunk[..<n]
        }
    }
}
