import Foundation
import Platform
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// A fresh folder from mkdtemp(3), removed by `remove()`. Every test that touches files uses its
/// own, so tests can run in parallel and never see the repository's runtime_locks/.
struct TemporaryFolder {
    let path: String

    init() throws {
        var base = ProcessInfo.processInfo.environment["TMPDIR"] ?? "/tmp"
        while base.count > 1, base.hasSuffix("/") { base.removeLast() }
        var template = Array((base + "/guard-tests.XXXXXX").utf8CString)
        let made = template.withUnsafeMutableBufferPointer { mkdtemp($0.baseAddress!) }
        let created = try #require(made, "mkdtemp failed: errno \(errno)")
        path = String(cString: created)
    }

    func file(_ name: String) -> String { path + "/" + name }

    @discardableResult
    func write(_ name: String, _ bytes: [UInt8]) throws -> String {
        let path = file(name)
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        return path
    }

    func read(_ name: String) throws -> [UInt8] {
        Array(try Data(contentsOf: URL(fileURLWithPath: file(name))))
    }

    func remove() { try? FileManager.default.removeItem(atPath: path) }
}

/// `stat(2)` of a path: (device, inode).
func fileIdentity(_ path: String) throws -> (device: UInt64, inode: UInt64) {
    var st = stat()
    try #require(stat(path, &st) == 0, "stat \(path): errno \(errno)")
    return (UInt64(st.st_dev), UInt64(st.st_ino))
}

extension SplitMix64 {
    /// `count` bytes, so "random" inputs are the same on every run.
    mutating func bytes(_ count: Int) -> [UInt8] { (0..<count).map { _ in UInt8(truncatingIfNeeded: next()) } }
}
