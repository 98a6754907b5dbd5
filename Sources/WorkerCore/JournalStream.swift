import CShim
import Platform

#if canImport(Glibc)
import Glibc
#endif

/// Reads a journal file as a stream: its checksum (CRC-32C, `cshim_crc32c`) over a byte range, and
/// its lines one at a time. Memory is one read buffer (1 MiB) and, for a line longer than that, the
/// line: never the file.
public enum JournalStream {
    static let chunk = 1 << 20

    /// CRC-32C of `bytes` continued from `crc` (0 to start).
    public static func checksum(_ bytes: UnsafeRawBufferPointer, from crc: UInt32 = 0) -> UInt32 {
        cshim_crc32c(crc, bytes.baseAddress, bytes.count)
    }

    public static func checksum(_ bytes: [UInt8], from crc: UInt32 = 0) -> UInt32 {
        bytes.withUnsafeBytes { checksum($0, from: crc) }
    }

    /// The checksum of `fd`'s first `length` bytes. Throws when the file is shorter.
    public static func checksum(fd: Int32, length: Int, path: String) throws(SystemError) -> UInt32 {
        var crc: UInt32 = 0
        var buffer = [UInt8](repeating: 0, count: chunk)
        var offset = 0
        while offset < length {
            let want = min(chunk, length - offset)
            let n = buffer.withUnsafeMutableBytes { pread(fd, $0.baseAddress, want, off_t(offset)) }
            if n < 0 {
                if errno == EINTR { continue }
                throw SystemError("pread \(path)")
            }
            guard n > 0 else { throw SystemError("pread \(path): shorter than \(length) bytes", code: EIO) }
            crc = buffer.withUnsafeBytes { checksum(UnsafeRawBufferPointer(rebasing: $0[0..<n]), from: crc) }
            offset += n
        }
        return crc
    }

    /// Calls `body` with every line of `fd` in `[from, to)` (without its newline) and the offset just
    /// after it; a last line without a newline is passed too. `crc` is continued over every byte
    /// read. `body` returns false to stop early.
    public static func forEachLine(
        fd: Int32, from: Int, to: Int, path: String, crc: inout UInt32,
        _ body: (UnsafeBufferPointer<UInt8>, _ end: Int) -> Bool
    ) throws(SystemError) {
        var buffer = [UInt8](repeating: 0, count: chunk)
        var carry: [UInt8] = []
        var offset = from
        while offset < to {
            let want = min(chunk, to - offset)
            let n = buffer.withUnsafeMutableBytes { pread(fd, $0.baseAddress, want, off_t(offset)) }
            if n < 0 {
                if errno == EINTR { continue }
                throw SystemError("pread \(path)")
            }
            guard n > 0 else { break }
            var keepGoing = true
            buffer.withUnsafeBufferPointer { all in
                let read = UnsafeBufferPointer(rebasing: all[0..<n])
                crc = checksum(UnsafeRawBufferPointer(read), from: crc)
                var start = 0
                while start < n {
                    guard let nl = read[start...].firstIndex(of: UInt8(ascii: "\n")) else {
                        carry.append(contentsOf: read[start..<n])
                        return
                    }
                    let lineEnd = offset + nl + 1
                    if carry.isEmpty {
                        keepGoing = body(UnsafeBufferPointer(rebasing: read[start..<nl]), lineEnd)
                    } else {
                        carry.append(contentsOf: read[start..<nl])
                        keepGoing = carry.withUnsafeBufferPointer { body($0, lineEnd) }
                        carry.removeAll(keepingCapacity: false)
                    }
                    if !keepGoing { return }
                    start = nl + 1
                }
            }
            if !keepGoing { return }
            offset += n
        }
        if !carry.isEmpty { _ = carry.withUnsafeBufferPointer { body($0, offset) } }
    }
}
