import Platform
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// `ChildProcess.spawnTied` with a real shell: the passed descriptor as fd 3 and nothing else above
/// 2, a process group of its own, the working folder, and a failed exec as an error.
@Suite struct ChildProcessTests {
    /// Reads what the child writes on its end until it closes.
    func readAll(_ fd: Int32) -> String {
        var out: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 4096)
        while true {
            let n = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if n <= 0 { break }
            out += buffer[0..<n]
        }
        return String(decoding: out, as: UTF8.self)
    }

    @Test func theChildGetsFdThreeOnlyItsOwnGroupAndItsFolder() throws {
        var pair: [Int32] = [-1, -1]
        #expect(socketpair(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0, &pair) == 0)
        // A descriptor the parent holds without close-on-exec must not leak either.
        let leaky = open("/dev/null", O_RDONLY)
        defer { close(leaky) }
        let script =
            #"echo "fds $(ls /proc/self/fd | tr '\n' ' ')" >&3; echo "pgid $(ps -o pgid= -p $$ | tr -d ' ') pid $$" >&3; echo "cwd $(pwd)" >&3"#
        let child = try ChildProcess.spawnTied(
            argv: ["sh", "-c", script], environment: ["PATH=/usr/bin:/bin"],
            tie: ChildProcess.Tie(passFD: pair[1], targetFD: 3, workingDirectory: "/tmp"))
        close(pair[1])
        let text = readAll(pair[0])
        close(pair[0])
        var status: Int32 = 0
        _ = waitpid(child.pid, &status, 0)
        child.closePidfd()
        let lines = text.split(separator: "\n").map(String.init)
        // 0, 1, 2, 3 and the one `ls` opens to read the folder: not `leaky`, nor anything else of this process.
        let fds = lines.first { $0.hasPrefix("fds ") }.map { $0.dropFirst(4).split(separator: " ").compactMap { Int($0) } } ?? []
        #expect(fds.filter { $0 > 3 }.count <= 1, "\(text)")
        #expect(lines.contains("pgid \(child.pid) pid \(child.pid)"), "\(text)")
        #expect(lines.contains("cwd /tmp"), "\(text)")
    }

    @Test func aProgramThatIsNotThereIsAnErrorNamingIt() {
        do {
            _ = try ChildProcess.spawnTied(argv: ["no-such-program-xyz"], environment: ["PATH=/usr/bin:/bin"], tie: ChildProcess.Tie())
            Issue.record("spawned")
        } catch {
            #expect("\(error)".contains("no-such-program-xyz: not found on PATH"), "\(error)")
        }
        do {
            _ = try ChildProcess.spawnTied(argv: ["/bin/true"], environment: [], tie: ChildProcess.Tie(workingDirectory: "/no/such/folder"))
            Issue.record("spawned")
        } catch {
            #expect("\(error)".contains("in /no/such/folder"), "\(error)")
        }
    }
}
