import Foundation
import Platform
import ProcessShell
import RobotConfig
import Wire

#if canImport(Glibc)
import Glibc
#endif

/// What `watchdog` was asked to run with: the configuration's location, as for every executable.
/// What `watchdog run` runs on: its configuration's location.
public typealias WatchdogOptions = ConfigLocation

/// `watchdog run`'s start-up (docs/watchdog.md, "run"), one step after another; each failure is
/// one log line and its exit status, and nothing is served until every step succeeded.
enum WatchdogStartup {
    /// Everything the server needs, once every step succeeded.
    struct Ready {
        var reactor: Reactor
        var config: Configuration
        var snapshot: SnapshotFile
        var state: WatchdogState
        var listener: Listener
        var instanceLock: InstanceLock
        var writer: SnapshotWriter
    }

    /// The listening socket: bound here, or passed by systemd (fd 3), which the watchdog never unlinks.
    struct Listener {
        var fd: Int32
        var ownsSocketFile: Bool
    }

    static func prepare(_ options: WatchdogOptions) -> Result<Ready, Failure> {
        let reactor: Reactor
        do {
            reactor = try ProcessShell.begin(identifier: "watchdog", environment: options.environment, signals: [SIGTERM, SIGINT, SIGHUP])
        } catch {
            return .failure(Failure(.osError, "\(error)"))
        }
        let config: Configuration
        do {
            config = try options.load()
        } catch {
            return .failure(Failure(.config, "\(error)"))
        }
        do { _ = try config.dashboard.readToken() } catch { return .failure(Failure(.config, "\(error)")) }
        let socketPath = config.paths.watchdogSocket
        let snapshot = SnapshotFile(stateDir: config.paths.stateDir)
        for dir in [config.paths.socketDir, snapshot.folder] {
            do { try Directories.make(dir) } catch { return .failure(Failure(.cannotCreate, "\(dir): cannot create the folder: \(error)")) }
        }
        let lock: InstanceLock
        do {
            guard let taken = try InstanceLock(socketPath: socketPath) else {
                return .failure(Failure(.alreadyRunning, "another watchdog already serves \(socketPath)"))
            }
            lock = taken
        } catch {
            return .failure(Failure(.cannotCreate, "\(error)"))
        }
        let now = WatchdogInstant.now()
        var state: WatchdogState
        do {
            state = try snapshot.load() ?? WatchdogState(configuredMarkets: config.marketNames, now: now)
        } catch {
            return .failure(Failure(.snapshotDamaged, "\(error)"))
        }
        state.restartClocks(at: now, configuredMarkets: config.marketNames)
        let listener: Listener
        switch listen(socketPath) {
        case .success(let l): listener = l
        case .failure(let failure): return .failure(failure)
        }
        let writer: SnapshotWriter
        do {
            writer = try SnapshotWriter(file: snapshot, reactor: reactor)
        } catch {
            return .failure(Failure(.osError, "cannot start the snapshot writer: \(error)"))
        }
        return .success(
            Ready(
                reactor: reactor, config: config, snapshot: snapshot, state: state, listener: listener, instanceLock: lock, writer: writer))
    }

    /// Adopts the listening socket systemd passes (`LISTEN_FDS=1`, fd 3, made non-blocking) or
    /// listens on `socketPath` (mode 0660).
    private static func listen(_ socketPath: String) -> Result<Listener, Failure> {
        if SdNotify.listenFDCount() == 1 {
            let fd: Int32 = 3
            let flags = fcntl(fd, F_GETFL)
            guard flags >= 0, fcntl(fd, F_SETFL, flags | O_NONBLOCK) == 0 else {
                return .failure(Failure(.osError, "\(SystemError("fcntl(3) of the socket systemd passed"))"))
            }
            _ = fcntl(fd, F_SETFD, FD_CLOEXEC)
            return .success(Listener(fd: fd, ownsSocketFile: false))
        }
        do {
            return .success(Listener(fd: try UnixSocket.listen(path: socketPath, mode: 0o660), ownsSocketFile: true))
        } catch {
            if error.code == EADDRINUSE { return .failure(Failure(.alreadyRunning, "another watchdog already serves \(socketPath)")) }
            return .failure(Failure(.cannotCreate, "\(error)"))
        }
    }

    typealias Failure = StartupFailure<WatchdogExitStatus>
}

extension WatchdogServer {
    /// Starts the watchdog and runs it until SIGTERM or SIGINT; returns its exit status.
    public static func run(_ options: WatchdogOptions) -> WatchdogExitStatus {
        let prepared = WatchdogStartup.prepare(options) // first: it bootstraps logging
        return Diagnostics.log.run(prepared) { WatchdogServer($0).serve() }
    }
}
