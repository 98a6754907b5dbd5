#if canImport(Glibc)
import Glibc
#endif

/// One line to standard error (the journal under systemd), prefixed `watchdog: `.
enum Diagnostics {
    static func note(_ message: String) {
        let line = Array("watchdog: \(message)\n".utf8)
        line.withUnsafeBytes { _ = write(2, $0.baseAddress, $0.count) }
    }
}
