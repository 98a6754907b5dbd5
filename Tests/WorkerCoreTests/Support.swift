import Foundation
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
        var template = Array((base + "/worker-core-tests.XXXXXX").utf8CString)
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

/// A small deterministic generator (SplitMix64), so "random" inputs are the same on every run.
struct SplitMix64 {
    var state: UInt64

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    mutating func bytes(_ count: Int) -> [UInt8] { (0..<count).map { _ in UInt8(truncatingIfNeeded: next()) } }
}
