import Platform
import RobotConfig
import Wire

#if canImport(Glibc)
import Glibc
#endif

/// The operator side of the socket, for `watchdog status` and `watchdog ack`: connects, says
/// hello as an operator, sends one request and reads its one answer (blocking, with a deadline).
public struct OperatorClient {
    /// Why a request got no usable answer, with the exit status the CLI uses for it.
    public struct Failure: Error, CustomStringConvertible {
        public var status: WatchdogExitStatus
        public var description: String
    }

    public let socketPath: String
    /// Longer than the watchdog's wait for a worker to confirm a cleared latch (5 s).
    public var timeoutSeconds: Double = 8

    public init(socketPath: String) { self.socketPath = socketPath }

    /// Sends `request` and returns the answer line. Throws `.notRunning` when nothing serves the
    /// socket, `.notPermitted` when the socket's mode keeps this user out or the watchdog refused
    /// the request for this user.
    public func send(_ request: OperatorRequest) throws(Failure) -> [UInt8] {
        let client: LineClient
        do {
            client = try LineClient(path: socketPath)
        } catch {
            if error.code == EACCES {
                throw Failure(
                    status: .notPermitted,
                    description:
                        "\(socketPath): permission denied (the socket is mode 0660 in a 0750 folder: run as root, the watchdog's user or its group)"
                )
            }
            throw Failure(status: .notRunning, description: "watchdog is not running: cannot connect to \(socketPath) (\(error))")
        }
        let line: [UInt8]
        do {
            try client.send(WireCoding.line(Hello(role: .operator)))
            try client.send(WireCoding.line(request))
            line = try client.readLine(timeoutSeconds: timeoutSeconds)
        } catch {
            throw Failure(status: .notRunning, description: "watchdog at \(socketPath) did not answer: \(error)")
        }
        if let error = try? WireCoding.decode(WireError.self, from: line), error.type == "error" {
            let status: WatchdogExitStatus = error.reason == .notPermitted ? .notPermitted : .protocolError
            throw Failure(status: status, description: "watchdog refused the request: \(error.reason.rawValue): \(error.detail)")
        }
        return line
    }

    /// The status report (all markets, or one).
    public func status(market: String?) throws(Failure) -> StatusReport {
        let line = try send(OperatorRequest(type: .status, market: market))
        do { return try WireCoding.decode(StatusReport.self, from: line) } catch {
            throw Failure(status: .protocolError, description: "watchdog at \(socketPath) sent an unexpected answer: \(error)")
        }
    }

    /// Acknowledges the open alerts of `market` (or the one named `alertID`).
    public func acknowledge(market: String, alertID: String?) throws(Failure) -> AckReport {
        let line = try send(OperatorRequest(type: .ack, market: market, alertID: alertID))
        do { return try WireCoding.decode(AckReport.self, from: line) } catch {
            throw Failure(status: .protocolError, description: "watchdog at \(socketPath) sent an unexpected answer: \(error)")
        }
    }
}
