import Platform
import Wire

#if canImport(Glibc)
import Glibc
#endif

/// The host-wide guard folder (`/var/lib/robot-runtime/guard`, or `$ROBOT_GUARD_DIR`): one
/// subfolder per trading account, holding one lock file and one fence file per canonical market
/// (`default/canonical_ES.lock`). It is fixed for the host so that every home folder, configuration
/// file and user meets the same locks, and it lives under `/var/lib` so the fences survive a reboot.
///
/// Nothing in it is trusted blindly: the folder and the account's subfolder are opened with
/// `O_NOFOLLOW` (a symlink is refused, never followed) and must belong to root or to this user
/// and be writable by nobody else unless sticky (`chmod 1777`, like `/tmp`); the account's
/// subfolder and its files must belong to this user. A folder or file that fails this is refused
/// with its owner named, never used.
public enum HostGuardFolder {
    /// The folder when `$ROBOT_GUARD_DIR` is not set.
    public static let standard = "/var/lib/robot-runtime/guard"
    /// The environment variable that moves it (tests give every test its own).
    public static let environmentVariable = "ROBOT_GUARD_DIR"

    /// The host-wide guard folder for this environment, or the reason `$ROBOT_GUARD_DIR` is unusable.
    public static func location(environment: [String: String]) -> Result<String, GuardFolderError> {
        guard let value = environment[environmentVariable] else { return .success(standard) }
        guard value.hasPrefix("/"), !value.utf8.contains(0), value.utf8.count < 3000 else {
            return .failure(GuardFolderError("$\(environmentVariable)=\"\(value)\": expected an absolute folder path"))
        }
        return .success(value)
    }

    /// Makes (when missing) and checks `base` and its subfolder for `account`; returns the subfolder.
    public static func prepare(_ base: String, account: TradingAccount) throws(MarketGuardFailure) -> String {
        do throws(SystemError) { try Directories.make(base, mode: 0o755) } catch {
            throw .cannotUse(path: base, error)
        }
        let baseFD = open(base, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
        guard baseFD >= 0 else {
            throw .untrusted(path: base, reason: "cannot open it as a folder without following a symlink: \(SystemError("open"))")
        }
        defer { close(baseFD) }
        try check(fd: baseFD, path: base, allowRoot: true, allowSticky: true)
        let accountDir = base + "/" + account.name
        if mkdirat(baseFD, account.name, 0o755) != 0, errno != EEXIST {
            throw .cannotUse(path: accountDir, SystemError("mkdir"))
        }
        let fd = openat(baseFD, account.name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
        guard fd >= 0 else {
            throw .untrusted(path: accountDir, reason: "cannot open it as a folder without following a symlink: \(SystemError("open"))")
        }
        defer { close(fd) }
        try check(fd: fd, path: accountDir, allowRoot: false, allowSticky: false)
        return accountDir
    }

    /// Refuses a lock or fence file that exists but is not a regular file of this user (a symlink,
    /// a fifo, another user's file planted to be written through).
    public static func checkFile(_ path: String) throws(MarketGuardFailure) {
        var st = stat()
        guard lstat(path, &st) == 0 else { return }
        guard st.st_mode & S_IFMT == S_IFREG else {
            throw .untrusted(path: path, reason: "not a regular file (a symlink is never followed)")
        }
        guard st.st_uid == geteuid() else {
            throw .untrusted(path: path, reason: "owned by uid \(st.st_uid) (\(userName(st.st_uid))), not by this user (uid \(geteuid()))")
        }
    }

    private static func check(fd: Int32, path: String, allowRoot: Bool, allowSticky: Bool) throws(MarketGuardFailure) {
        var st = stat()
        guard fstat(fd, &st) == 0 else { throw .cannotUse(path: path, SystemError("fstat")) }
        let me = geteuid()
        guard st.st_uid == me || (allowRoot && st.st_uid == 0) else {
            throw .untrusted(
                path: path,
                reason: "owned by uid \(st.st_uid) (\(userName(st.st_uid))), not by this user (uid \(me))"
                    + (allowRoot ? " or root" : "") + "; whoever owns it can block or forge this account's guard")
        }
        let writableByOthers = st.st_mode & (S_IWGRP | S_IWOTH) != 0
        if writableByOthers, !(allowSticky && st.st_mode & S_ISVTX != 0) {
            throw .untrusted(
                path: path,
                reason: "writable by group or others (mode \(String(st.st_mode & 0o7777, radix: 8)))"
                    + (allowSticky ? " without the sticky bit; use chmod 1777 (like /tmp) or 755" : "; use chmod 755"))
        }
    }

    /// The user name of `uid` from the password database, or "unknown user".
    static func userName(_ uid: uid_t) -> String {
        guard let pw = getpwuid(uid), let name = pw.pointee.pw_name else { return "unknown user" }
        return String(cString: name)
    }
}

/// `$ROBOT_GUARD_DIR` is set to something that is not an absolute path.
public struct GuardFolderError: Error, Sendable, CustomStringConvertible {
    public var description: String
    public init(_ description: String) { self.description = description }
}
