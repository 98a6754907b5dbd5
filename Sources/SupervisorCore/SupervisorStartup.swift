import Platform
import ProcessShell
import RobotConfig

#if canImport(Glibc)
import Glibc
#endif

/// What `supervisor` was asked to run with.
/// What `supervisor run` runs on: its configuration's location.
public typealias SupervisorOptions = ConfigLocation

/// `supervisor run`'s start-up (docs/supervisor.md), one step after another; each failure is one
/// log line and its exit status, and nothing is supervised until every step succeeded.
enum SupervisorStartup {
    /// Everything the supervisor needs, once every step succeeded.
    struct Ready {
        var options: SupervisorOptions
        var reactor: Reactor
        var config: Configuration
        var control: ControlServer
        var notify: NotifySocket
        /// The single-instance flock (`supervisor.sock.lock`), held for the supervisor's life.
        var instanceLock: InstanceLock
    }

    static func prepare(_ options: SupervisorOptions) -> Result<Ready, Failure> {
        // A closed stderr or client must not kill the supervisor; workers get SIGPIPE back at its
        // default disposition from cshim_spawn.
        signal(SIGPIPE, SIG_IGN)
        let reactor: Reactor
        do {
            // Signals blocked from the first moment: one arriving during start-up waits for the loop.
            reactor = try ProcessShell.begin(
                identifier: "supervisor", environment: options.environment, signals: [SIGTERM, SIGINT, SIGHUP, SIGCHLD])
        } catch {
            return .failure(Failure(.osError, "\(error)"))
        }
        let config: Configuration
        do {
            config = try options.load()
        } catch {
            return .failure(Failure(.config, "\(error)"))
        }
        // The configuration refused a socket_dir too long for any socket under it.
        let paths = config.paths
        do { try Directories.make(paths.socketDir) } catch {
            return .failure(Failure(.osError, "\(paths.socketDir): cannot create the socket folder: \(error)"))
        }
        // The single-instance guard: an flock on `supervisor.sock.lock`, taken before the socket is
        // touched (as the watchdog does), so two supervisors started at once never unlink and bind
        // each other's socket. Only its holder binds the control socket, then the notify socket.
        let lock: InstanceLock
        do {
            guard let taken = try InstanceLock(socketPath: paths.supervisorSocket) else {
                return .failure(
                    Failure(
                        .alreadyRunning,
                        "another supervisor already serves \(paths.supervisorSocket) (it holds \(paths.supervisorSocket).lock); not starting a second one"
                    ))
            }
            lock = taken
        } catch {
            return .failure(Failure(.osError, "\(error)"))
        }
        let controlFD: Int32
        do {
            controlFD = try UnixSocket.listen(path: paths.supervisorSocket, mode: 0o660)
        } catch {
            if error.code == EADDRINUSE {
                return .failure(
                    Failure(.alreadyRunning, "another supervisor already serves \(paths.supervisorSocket); not starting a second one"))
            }
            return .failure(Failure(.osError, "\(error)"))
        }
        let notify: NotifySocket
        do {
            notify = try NotifySocket(path: paths.supervisorNotifySocket)
        } catch {
            close(controlFD)
            unlink(paths.supervisorSocket)
            return .failure(Failure(.osError, "\(error)"))
        }
        let control = ControlServer(reactor: reactor, listenFD: controlFD, path: paths.supervisorSocket)
        return .success(Ready(options: options, reactor: reactor, config: config, control: control, notify: notify, instanceLock: lock))
    }

    typealias Failure = StartupFailure<SupervisorExitStatus>
}

extension Supervisor {
    /// Starts the supervisor and runs it until SIGTERM or SIGINT; returns its exit status.
    public static func run(_ options: SupervisorOptions) -> SupervisorExitStatus {
        let prepared = SupervisorStartup.prepare(options) // first: it bootstraps logging
        return startLog.run(prepared) { Supervisor($0).serve() }
    }
}
