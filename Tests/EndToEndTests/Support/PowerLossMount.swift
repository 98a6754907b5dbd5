import Foundation
import Testing

/// The power-loss file system (tools/powerloss-fs) mounted at `home/fs` for one test: a FUSE pass-
/// through to `home/fs.backing` that, on `cut()`, throws away everything not fsynced, as a power
/// cut would. Needs root and /dev/fuse (scripts/setup installs fuse3, libfuse3-dev and gcc).
final class PowerLossMount: @unchecked Sendable {
    let path: String
    private let daemon: RunningProcess
    private var mounted = true

    /// Built once per test process from tools/powerloss-fs (a fraction of a second with gcc).
    static let binary: Result<String, TestFailure> = {
        let repo = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().path
        let out = repo + "/.build/powerloss-fs"
        let build = Process()
        build.executableURL = URL(fileURLWithPath: repo + "/tools/powerloss-fs/build")
        build.arguments = [out]
        let err = Pipe()
        build.standardError = err
        do { try build.run() } catch { return .failure(TestFailure("tools/powerloss-fs/build: \(error)")) }
        let message = String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        build.waitUntilExit()
        guard build.terminationStatus == 0 else {
            return .failure(TestFailure("tools/powerloss-fs/build failed (scripts/setup installs gcc and libfuse3-dev): \(message)"))
        }
        return .success(out)
    }()

    init(home: TestHome) throws {
        guard FileManager.default.fileExists(atPath: "/dev/fuse"), geteuid() == 0 else {
            throw TestFailure("the power-loss tests need root and /dev/fuse (FUSE); euid \(geteuid())")
        }
        let binary = try Self.binary.get()
        path = home.path + "/fs"
        for dir in [path, home.path + "/fs.backing"] {
            try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        }
        daemon = try RunningProcess(
            executable: binary, arguments: [home.path + "/fs.backing", home.path + "/fs.shadow", path], environment: [:],
            logPrefix: home.path + "/powerloss-fs")
        let daemon = daemon
        try waitFor("the power-loss file system at \(path)", seen: { daemon.stderr }) {
            FileManager.default.fileExists(atPath: path + "/.powerloss") ? true : nil
        }
    }

    /// Sends one command (`cut`, `freeze`, `thaw`, `arm TEXT`, `revive`: tools/powerloss-fs/README.md).
    func command(_ text: String) throws {
        let fd = open(path + "/.powerloss", O_WRONLY)
        guard fd >= 0 else { throw TestFailure("\(path)/.powerloss: open: errno \(errno)") }
        defer { close(fd) }
        let bytes = Array((text + "\n").utf8)
        guard write(fd, bytes, bytes.count) == bytes.count else { throw TestFailure("powerloss-fs refused \"\(text)\": errno \(errno)") }
    }

    /// The power cut: everything not made durable is gone. Kill the processes first.
    func cut() throws { try command("cut") }

    /// The status line (`generation G dead D frozen F blocked N cuts N ...`) as numbers by name.
    func status() -> [String: Int] {
        guard let text = try? String(contentsOfFile: path + "/.powerloss", encoding: .utf8) else { return [:] }
        let words = text.split(whereSeparator: { $0 == " " || $0 == "\n" })
        var out: [String: Int] = [:]
        for i in stride(from: 0, to: words.count - 1, by: 2) { out[String(words[i])] = Int(words[i + 1]) }
        return out
    }

    var log: String { daemon.stderr }

    /// Unmounts (the daemon then exits). Every process using the mount must be gone.
    func unmount() {
        guard mounted else { return }
        mounted = false
        try? command("thaw")
        try? command("revive")
        if run("/usr/bin/fusermount3", ["-u", path]) != 0 {
            daemon.signal(SIGKILL)
            _ = run("/usr/bin/fusermount3", ["-u", "-z", path])
        }
        _ = try? daemon.waitForExit(timeout: 5)
    }

    private func run(_ tool: String, _ arguments: [String]) -> Int32 {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: tool)
        p.arguments = arguments
        p.standardError = FileHandle.nullDevice
        guard (try? p.run()) != nil else { return -1 }
        p.waitUntilExit()
        return p.terminationStatus
    }
}
