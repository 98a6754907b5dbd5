#if canImport(Glibc)
import Glibc
#endif

/// The command-line clients' error output: one plain line on stderr, prefixed with the program's
/// name (`supervisor: ...`, `robot-worker: ...`); answers stay on stdout.
public enum ClientError {
    public static func print(_ program: String, _ message: String) {
        var line = Array("\(program): \(message)\n".utf8)
        line.withUnsafeMutableBytes { _ = write(2, $0.baseAddress, $0.count) }
    }
}
