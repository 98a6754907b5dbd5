import Foundation

/// A real process started by a test, its stdout and stderr in files. Ended by pid, never by name.
final class RunningProcess: @unchecked Sendable {
    let process = Process()
    let stdoutPath: String
    let stderrPath: String

    /// With `journalStream`, the child gets `JOURNAL_STREAM` naming its stderr file, as systemd
    /// sets it when stderr is the journal.
    init(
        executable: String, arguments: [String], environment: [String: String], logPrefix: String, journalStream: Bool = false,
        workingDirectory: String? = nil
    ) throws {
        stdoutPath = logPrefix + ".out"
        stderrPath = logPrefix + ".err"
        _ = FileManager.default.createFile(atPath: stdoutPath, contents: nil)
        _ = FileManager.default.createFile(atPath: stderrPath, contents: nil)
        var environment = environment
        if journalStream {
            var st = stat()
            guard stat(stderrPath, &st) == 0 else { throw TestFailure("stat \(stderrPath)") }
            environment["JOURNAL_STREAM"] = "\(st.st_dev):\(st.st_ino)"
        }
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        var env = ProcessInfo.processInfo.environment
        env.removeValue(forKey: "NOTIFY_SOCKET")
        env.removeValue(forKey: "WATCHDOG_USEC")
        env.removeValue(forKey: "WATCHDOG_PID")
        env.removeValue(forKey: "ROBOT_CONFIG")
        env.removeValue(forKey: "ROBOT_HOME")
        env.removeValue(forKey: "LISTEN_FDS")
        env.removeValue(forKey: "LISTEN_PID")
        env.removeValue(forKey: "JOURNAL_STREAM")
        env.removeValue(forKey: "ROBOT_JOURNAL_SOCKET")
        // Never the real host-wide guard folder (/var/lib/robot-runtime/guard): each test's own,
        // next to its logs, unless the test names one (two homes sharing a host-wide guard).
        env["ROBOT_GUARD_DIR"] = (logPrefix as NSString).deletingLastPathComponent + "/host-guard"
        for (k, v) in environment { env[k] = v }
        process.environment = env
        if let workingDirectory { process.currentDirectoryURL = URL(fileURLWithPath: workingDirectory) }
        process.standardInput = FileHandle.nullDevice
        let out = FileHandle(forWritingAtPath: stdoutPath)
        let err = FileHandle(forWritingAtPath: stderrPath)
        process.standardOutput = out
        process.standardError = err
        try process.run()
        // The child has its own copies. Ours would stay open as long as this object (a suite keeps
        // hundreds), and Foundation's Process.run reads past its buffer listing /proc/self/fd once a
        // process has about a thousand descriptors open (swift-corelibs-foundation #5472): a crash.
        try? out?.close()
        try? err?.close()
    }

    var pid: Int32 { process.processIdentifier }
    var isRunning: Bool { process.isRunning }

    func signal(_ sig: Int32) { if process.isRunning { kill(pid, sig) } }

    /// Waits for the exit; returns the exit status, or 128+signal when a signal ended it.
    @discardableResult
    func waitForExit(timeout: Double = 10) throws -> Int32 {
        try waitFor("pid \(pid) to exit", timeout: timeout, seen: { "still running; stderr: \(stderr)" }) {
            process.isRunning ? nil : true
        }
        return process.terminationReason == .uncaughtSignal ? 128 + process.terminationStatus : process.terminationStatus
    }

    var stdout: String { (try? String(contentsOfFile: stdoutPath, encoding: .utf8)) ?? "" }
    var stderr: String { (try? String(contentsOfFile: stderrPath, encoding: .utf8)) ?? "" }
}

/// A finished command: its exit status and what it printed.
struct CommandResult {
    var status: Int32
    var stdout: String
    var stderr: String
}
