#if canImport(Glibc)
import Glibc
#endif
import Platform
import Wire
import RobotConfig

/// The operator's side of a worker's control socket, for `robot-worker order` and `cancel`.
public enum WorkerClient {
    /// Sends one request to the running worker of `market` and prints its answer. Returns the exit
    /// status: 0 done, 1 refused (blocked, rejected, not found, not permitted), 3 not running, 78
    /// configuration error.
    public static func ask(market: String, configPath: String?, home: String?, _ request: WorkerRequest) -> Int32 {
        let config: Configuration
        let canonical: CanonicalMarket
        do {
            config = try ConfigLoader.load(configPath: configPath, home: home, environment: ProcessInfoEnvironment.current())
            canonical = try config.instrumentMap.canonical(of: market)
        } catch {
            print("robot-worker: \(error)")
            return 78
        }
        let path = config.paths.workerSocket(canonical)
        let response: WorkerResponse
        do {
            let client = try LineClient(path: path)
            try client.send(WireCoding.line(request))
            response = try WireCoding.decode(WorkerResponse.self, from: client.readLine(timeoutSeconds: 10))
        } catch let e as SystemError where e.code == ENOENT || e.code == ECONNREFUSED {
            print("robot-worker: no worker for \(canonical) is running (nothing serves \(path))")
            return 3
        } catch {
            print("robot-worker: \(path): \(error)")
            return 3
        }
        print("\(canonical) [\(response.mode)]: \(response.message)")
        return response.ok ? 0 : 1
    }
}
