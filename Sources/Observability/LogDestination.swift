import CSystemd
import Platform

#if canImport(Glibc)
import Glibc
#endif

/// Where a process's log lines go, decided once at start from its environment.
///
/// - `JOURNAL_STREAM` names the device and inode of stderr (systemd sets it when stderr is the
///   journal, systemd.exec(5)): structured entries go to journald. With `ROBOT_JOURNAL_SOCKET` set
///   (tests, or a journald at another path) they are written in the native protocol to that
///   datagram socket; otherwise through `sd_journal_sendv`.
/// - Anything else: one plain line per entry on stderr, `IDENTIFIER: message`.
///
/// A journal write that fails (journald gone, the socket refused) falls back to the stderr line for
/// that entry, so a message is never lost silently.
public final class LogDestination: Sendable {
    public enum Kind: Sendable, Equatable {
        case stderr
        case systemdJournal
        case journalSocket(String)
    }

    public let kind: Kind
    /// A datagram socket for `.journalSocket`, -1 otherwise.
    private let socketFD: Int32

    public init(kind: Kind) {
        self.kind = kind
        if case .journalSocket = kind {
            socketFD = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        } else {
            socketFD = -1
        }
    }

    deinit { if socketFD >= 0 { close(socketFD) } }

    /// The destination for this environment (see the type's documentation).
    public static func detect(environment: [String: String]) -> LogDestination {
        guard let stream = environment["JOURNAL_STREAM"], isStderr(stream) else { return LogDestination(kind: .stderr) }
        if let path = environment["ROBOT_JOURNAL_SOCKET"], !path.isEmpty { return LogDestination(kind: .journalSocket(path)) }
        return LogDestination(kind: .systemdJournal)
    }

    /// True when `DEVICE:INODE` is stderr's, as systemd.exec(5) says to check.
    static func isStderr(_ stream: String) -> Bool {
        let parts = stream.split(separator: ":")
        guard parts.count == 2, let dev = UInt64(parts[0]), let ino = UInt64(parts[1]) else { return false }
        var st = stat()
        guard fstat(2, &st) == 0 else { return false }
        return UInt64(st.st_dev) == dev && UInt64(st.st_ino) == ino
    }

    /// Writes `entry`; `line` is the stderr form.
    public func write(_ entry: JournalEntry, line: String) {
        switch kind {
        case .stderr:
            writeStderr(line)
        case .systemdJournal:
            if !sendSystemd(entry) { writeStderr(line) }
        case .journalSocket(let path):
            if !sendNative(entry, to: path) { writeStderr(line) }
        }
    }

    private func writeStderr(_ line: String) {
        var bytes = Array(line.utf8)
        bytes.append(UInt8(ascii: "\n"))
        bytes.withUnsafeBytes { _ = Glibc.write(2, $0.baseAddress, $0.count) }
    }

    private func sendSystemd(_ entry: JournalEntry) -> Bool {
        let fields = entry.assignments
        let buffers = fields.map { bytes -> UnsafeMutableRawBufferPointer in
            let b = UnsafeMutableRawBufferPointer.allocate(byteCount: max(1, bytes.count), alignment: 1)
            b.copyBytes(from: bytes)
            return b
        }
        defer { for b in buffers { b.deallocate() } }
        var vectors = zip(buffers, fields).map { iovec(iov_base: $0.0.baseAddress, iov_len: $0.1.count) }
        return vectors.withUnsafeMutableBufferPointer { sd_journal_sendv($0.baseAddress, Int32($0.count)) } == 0
    }

    private func sendNative(_ entry: JournalEntry, to path: String) -> Bool {
        guard socketFD >= 0 else { return false }
        let datagram = entry.nativeDatagram
        let sent = datagram.withUnsafeBytes { data in
            UnixSocket.withAddress(path) { sendto(socketFD, data.baseAddress, data.count, Int32(MSG_NOSIGNAL), $0, $1) }
        }
        return sent == datagram.count
    }
}
