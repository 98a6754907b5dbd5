#if canImport(Glibc)
import Glibc
#endif

/// The few file operations durable state needs (the worker's journal and snapshot, the market
/// guard's lock and fence files), each with its error named.
public enum FileIO {
    /// Everything in `fd` from offset 0, read with pread (the file offset is not moved).
    public static func readAll(_ fd: Int32, limit: Int = 1 << 20) throws(SystemError) -> [UInt8] {
        var out: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 65536)
        while out.count < limit {
            let n = chunk.withUnsafeMutableBytes { pread(fd, $0.baseAddress, $0.count, off_t(out.count)) }
            if n < 0 {
                if errno == EINTR { continue }
                throw SystemError("pread")
            }
            if n == 0 { break }
            out.append(contentsOf: chunk[0..<n])
        }
        return out
    }

    /// Writes all of `bytes` at `offset`.
    public static func writeAll(_ fd: Int32, _ bytes: [UInt8], at offset: off_t) throws(SystemError) {
        var done = 0
        while done < bytes.count {
            let n = bytes.withUnsafeBytes { pwrite(fd, $0.baseAddress! + done, $0.count - done, offset + off_t(done)) }
            if n < 0 {
                if errno == EINTR { continue }
                throw SystemError("pwrite")
            }
            done += n
        }
    }

    /// Appends all of `bytes` to an `O_APPEND` descriptor in as few writes as the kernel allows.
    public static func append(_ fd: Int32, _ bytes: [UInt8]) throws(SystemError) {
        var done = 0
        while done < bytes.count {
            let n = bytes.withUnsafeBytes { write(fd, $0.baseAddress! + done, $0.count - done) }
            if n < 0 {
                if errno == EINTR { continue }
                throw SystemError("write")
            }
            done += n
        }
    }

    /// Reads a whole file of at most `limit` bytes (more is cut off), or nil when it does not exist.
    public static func readFile(_ path: String, limit: Int = 1 << 20) throws(SystemError) -> [UInt8]? {
        let fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW)
        if fd < 0 {
            if errno == ENOENT { return nil }
            throw SystemError("open \(path)")
        }
        defer { close(fd) }
        return try readAll(fd, limit: limit)
    }

    /// Replaces `path` with `bytes` atomically: a temporary file in the same folder, fsync,
    /// rename over `path`, fsync of the folder. A crash leaves the old or the new file, never a mix.
    public static func replaceAtomically(_ path: String, _ bytes: [UInt8], mode: mode_t = 0o640) throws(SystemError) {
        let tmp = path + ".tmp.\(getpid())"
        let fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, mode)
        guard fd >= 0 else { throw SystemError("open \(tmp)") }
        do throws(SystemError) {
            try writeAll(fd, bytes, at: 0)
            guard fsync(fd) == 0 else { throw SystemError("fsync \(tmp)") }
        } catch {
            close(fd)
            unlink(tmp)
            throw error
        }
        close(fd)
        guard rename(tmp, path) == 0 else {
            let e = SystemError("rename \(tmp)")
            unlink(tmp)
            throw e
        }
        try syncDirectory(of: path)
    }

    /// fsyncs the folder holding `path`, so a rename or a creation in it survives a power loss.
    public static func syncDirectory(of path: String) throws(SystemError) {
        let dir = path.split(separator: "/", omittingEmptySubsequences: false).dropLast().joined(separator: "/")
        let fd = open(dir.isEmpty ? "/" : dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard fd >= 0 else { throw SystemError("open \(dir)") }
        defer { close(fd) }
        guard fsync(fd) == 0 else { throw SystemError("fsync \(dir)") }
    }

    /// The folder of the running executable (`/proc/self/exe`), "." when it cannot be read.
    public static func executableDirectory() -> String {
        var buffer = [CChar](repeating: 0, count: 4096)
        let n = readlink("/proc/self/exe", &buffer, buffer.count - 1)
        guard n > 0 else { return "." }
        let path = String(decoding: buffer[0..<n].map { UInt8(bitPattern: $0) }, as: UTF8.self)
        guard let slash = path.lastIndex(of: "/") else { return "." }
        return String(path[..<slash])
    }

    /// This machine's host name, or "unknown".
    public static func hostName() -> String {
        var buffer = [CChar](repeating: 0, count: 256)
        guard gethostname(&buffer, buffer.count - 1) == 0 else { return "unknown" }
        return buffer.withUnsafeBufferPointer { String(cString: $0.baseAddress!) }
    }
}
