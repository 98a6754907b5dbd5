import Foundation
import Platform

#if canImport(Glibc)
import Glibc
#endif

/// A fresh folder from mkdtemp(3), removed by `remove()`. Every unit test that touches files uses
/// its own, so tests can run in parallel and never see the repository's runtime_locks/.
public struct TemporaryFolder: Sendable {
    public let path: String

    /// A folder `TMPDIR/<prefix>.XXXXXX` (`/tmp` without TMPDIR).
    public init(prefix: String = "robot-runtime-tests") throws(SystemError) {
        var base = ProcessInfo.processInfo.environment["TMPDIR"] ?? "/tmp"
        while base.count > 1, base.hasSuffix("/") { base.removeLast() }
        var template = Array((base + "/\(prefix).XXXXXX").utf8CString)
        guard let made = template.withUnsafeMutableBufferPointer({ mkdtemp($0.baseAddress!) }) else {
            throw SystemError("mkdtemp \(base)/\(prefix).XXXXXX")
        }
        path = String(cString: made)
    }

    /// The path of `name` in the folder.
    public func file(_ name: String) -> String { path + "/" + name }

    /// Writes `bytes` to `name`; its path.
    @discardableResult
    public func write(_ name: String, _ bytes: [UInt8]) throws -> String {
        let path = file(name)
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        return path
    }

    /// Writes `text` to `name`; its path.
    @discardableResult
    public func write(_ name: String, _ text: String) throws -> String { try write(name, Array(text.utf8)) }

    /// The bytes of `name`.
    public func read(_ name: String) throws -> [UInt8] {
        Array(try Data(contentsOf: URL(fileURLWithPath: file(name))))
    }

    public func remove() { try? FileManager.default.removeItem(atPath: path) }
}

/// `stat(2)` of a path: (device, inode).
public func fileIdentity(_ path: String) throws(SystemError) -> (device: UInt64, inode: UInt64) {
    var st = stat()
    guard stat(path, &st) == 0 else { throw SystemError("stat \(path)") }
    return (UInt64(st.st_dev), UInt64(st.st_ino))
}

extension SplitMix64 {
    /// `count` bytes, so "random" inputs are the same on every run.
    public mutating func bytes(_ count: Int) -> [UInt8] { (0..<count).map { _ in UInt8(truncatingIfNeeded: next()) } }
}
