import Platform
import ProcessShell
import RobotConfig
import Wire

#if canImport(Glibc)
import Glibc
#endif

/// The operator's side of a worker's control socket, for `robot-worker order` and `cancel`.
public enum WorkerClient {
    /// Sends one request to the running worker of `market` and prints its answer (stdout); errors
    /// go to stderr. Returns the exit status: `ok` done, `refused` (blocked, rejected, not found),
    /// `notPermitted` (the worker refused this user, or the socket's mode keeps it out),
    /// `notRunning`, `config` (docs/robot-worker.md, docs/EXIT-STATUS.md).
    public static func ask(
        market: String, configPath: String?, home: String?, _ request: WorkerRequest, json: Bool = false,
        render: ((WorkerResponse) -> String)? = nil
    ) -> ExitStatus {
        let config: Configuration
        let canonical: CanonicalMarket
        do {
            config = try ConfigLoader.load(configPath: configPath, home: home, environment: ProcessInfoEnvironment.current())
            canonical = try config.instrumentMap.canonical(of: market)
        } catch {
            ClientError.print("robot-worker", "\(error)")
            return .config
        }
        let path = config.paths.workerSocket(canonical)
        let response: WorkerResponse
        let line: [UInt8]
        do {
            let client = try LineClient(path: path)
            try client.send(WireCoding.line(request))
            line = try client.readLine(timeoutSeconds: 10)
            response = try WireCoding.decode(WorkerResponse.self, from: line)
        } catch let e as SystemError where e.code == ENOENT || e.code == ECONNREFUSED {
            ClientError.print("robot-worker", "no worker for \(canonical) is running (nothing serves \(path))")
            return .notRunning
        } catch let e as SystemError where e.code == EACCES {
            ClientError.print(
                "robot-worker", "\(path): permission denied (the socket is mode 0660: run as root, the worker's user or its group)")
            return .notPermitted
        } catch {
            ClientError.print("robot-worker", "\(path): \(error)")
            return .notRunning
        }
        let answer = "\(canonical) [\(response.mode)]: \(response.message)"
        if response.outcome == "not_permitted" {
            ClientError.print("robot-worker", answer)
            return .notPermitted
        }
        print(json ? String(decoding: line, as: UTF8.self) : render.map { $0(response) } ?? answer)
        return response.ok ? .ok : .refused
    }
}
