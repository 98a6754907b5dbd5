import Guard
import Platform
import ProcessShell
import RobotConfig

/// The market guard a worker runs under, made from its configuration and environment: the
/// host-wide guard (`HostMarketGuard`) over the home's lock folder and the host-wide guard folder
/// (`$ROBOT_GUARD_DIR`, else /var/lib/robot-runtime/guard), after both folders' file systems are
/// checked (network and FUSE refused unless `paths.allow_network_lock_dir`).
enum WorkerGuard {
    static func make(config: Configuration, environment: [String: String]) -> Result<any MarketGuard, StartupFailure<ExitStatus>> {
        let hostFolder: String
        switch HostGuardFolder.location(environment: environment) {
        case .success(let folder): hostFolder = folder
        case .failure(let error): return .failure(StartupFailure(.config, "\(error)"))
        }
        do throws(SystemError) { try Directories.make(hostFolder, mode: 0o755) } catch {
            return .failure(StartupFailure(.cannotCreate, "\(hostFolder): cannot create the host-wide guard folder: \(error)"))
        }
        do throws(MarketGuardFailure) {
            try LockFolderFileSystem.check(config.paths.lockDir, allowed: config.paths.allowNetworkLockDir)
            try LockFolderFileSystem.check(hostFolder, allowed: config.paths.allowNetworkLockDir)
        } catch {
            return .failure(failure(error))
        }
        return .success(HostMarketGuard(lockFolder: config.paths.lockDir, hostFolder: hostFolder, homeName: config.home))
    }

    /// The exit status and line of a guard that cannot be used.
    static func failure(_ error: MarketGuardFailure) -> StartupFailure<ExitStatus> {
        switch error {
        case .fenceDamaged: return StartupFailure(.lockStateDamaged, "\(error)")
        case .fileSystem: return StartupFailure(.config, "\(error)")
        case .cannotUse, .unstable, .untrusted: return StartupFailure(.cannotCreate, "\(error)")
        }
    }
}
