import Foundation
import Platform

/// A datagram socket bound as a child's `NOTIFY_SOCKET`: collects what it sends, with arrival times.
final class NotifyListener: @unchecked Sendable {
    let path: String
    private let fd: Int32
    private(set) var messages: [(at: Date, text: String)] = []

    init(path: String) throws {
        self.path = path
        fd = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue) | Int32(SOCK_NONBLOCK.rawValue), 0)
        let rc = UnixSocket.withAddress(path) { bind(fd, $0, $1) }
        guard fd >= 0, rc == 0 else { throw TestFailure("cannot bind \(path)") }
    }

    deinit { close(fd) }

    /// Reads every datagram waiting now.
    func poll() {
        var buffer = [UInt8](repeating: 0, count: 4096)
        while true {
            let n = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if n <= 0 { return }
            messages.append((Date(), String(decoding: buffer[0..<n], as: UTF8.self)))
        }
    }

    /// Every `KEY=VALUE` assignment received so far, in order.
    var assignments: [(at: Date, line: String)] {
        messages.flatMap { m in m.text.split(separator: "\n").map { (m.at, String($0)) } }
    }
}
