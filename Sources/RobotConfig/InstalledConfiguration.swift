#if canImport(Glibc)
import Glibc
#endif

/// Where `scripts/install` puts the configuration, in the order the programs look for it when
/// neither `--config` nor `$ROBOT_CONFIG` names one (docs/OPERATIONS.md, "Which configuration"):
///
/// 1. the user install's file, `${XDG_CONFIG_HOME:-$HOME/.config}/robot/robot.json`
///    (`scripts/install --systemd-user`);
/// 2. the system install's file, `$ROBOT_SYSCONFDIR/robot/robot.json`, `/etc/robot/robot.json`
///    unless `ROBOT_SYSCONFDIR` says otherwise (the tests point it at a folder of their own, so
///    they never depend on what the real `/etc` holds).
///
/// The first one that exists is used; a file that exists but cannot be read or is invalid is an
/// error (never a silent fall back to the next one).
public enum InstalledConfiguration {
    /// The candidate files, most specific first, from an environment (not the process's own, so
    /// tests can pass theirs).
    public static func candidates(environment: [String: String]) -> [String] {
        var out: [String] = []
        if let xdg = environment["XDG_CONFIG_HOME"], xdg.hasPrefix("/") {
            out.append(xdg + "/robot/robot.json")
        } else if let home = environment["HOME"], home.hasPrefix("/") {
            out.append(home + "/.config/robot/robot.json")
        }
        let sysconf = environment["ROBOT_SYSCONFDIR"].flatMap { $0.isEmpty ? nil : $0 } ?? "/etc"
        out.append(sysconf + "/robot/robot.json")
        return out
    }

    /// The first candidate that exists (as any kind of file: a folder there is reported when read).
    public static func firstExisting(_ candidates: [String]) -> String? {
        candidates.first { path in
            var st = stat()
            return lstat(path, &st) == 0
        }
    }
}
