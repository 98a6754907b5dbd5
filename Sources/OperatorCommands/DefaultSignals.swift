#if canImport(Glibc)
import Glibc
#endif

/// A command that runs until interrupted (`status --watch`, `logs -f`) ends on Ctrl-C, SIGTERM, a
/// closed terminal or a closed pipe whatever its parent left it: those signals are unblocked and
/// their default action (end the process) restored, since both a blocked mask and an ignored
/// disposition are inherited across exec.
enum DefaultSignals {
    static func restore() {
        var set = sigset_t()
        sigemptyset(&set)
        for signal in [SIGINT, SIGTERM, SIGHUP, SIGPIPE] {
            sigaddset(&set, signal)
            Glibc.signal(signal, SIG_DFL)
        }
        pthread_sigmask(SIG_UNBLOCK, &set, nil)
    }
}
