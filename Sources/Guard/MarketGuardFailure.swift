import Platform

/// Why a market's guard could not be used at all (as opposed to being held by someone else).
public enum MarketGuardFailure: Error, Sendable, CustomStringConvertible {
    /// The lock file or its folder cannot be opened, created or written.
    case cannotUse(path: String, SystemError)
    /// The fence file exists but is not a fence record: never restart the fence from a guess.
    case fenceDamaged(path: String)
    /// The path kept changing under us.
    case unstable(path: String)
    /// A host-wide guard folder or file is not safe to use (a symlink, another user's, writable by
    /// others): refused, never used.
    case untrusted(path: String, reason: String)
    /// The folder is on a network or FUSE file system, whose `flock(2)` may not exclude another
    /// host or may be emulated (`paths.allow_network_lock_dir` accepts it).
    case fileSystem(path: String, kind: String)

    public var description: String {
        switch self {
        case .cannotUse(let path, let e): return "\(path): \(e)"
        case .fenceDamaged(let path):
            return "\(path): the fence file is damaged; it must name the last fence handed out. Restore it, or write "
                + "{\"fence\":N,...} with N at least the highest fence the watchdog has seen for this market"
        case .unstable(let path): return "\(path): the lock file was replaced repeatedly while being locked"
        case .untrusted(let path, let reason): return "\(path): refused: \(reason)"
        case .fileSystem(let path, let kind):
            return "\(path): the lock folder is on a \(kind) file system, whose flock may not exclude other processes or hosts; "
                + "use a local folder, or set paths.allow_network_lock_dir: true if you know its flock semantics"
        }
    }
}
