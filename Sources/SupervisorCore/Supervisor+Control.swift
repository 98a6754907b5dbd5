import RobotConfig

/// The narrow interface the control server uses.
extension Supervisor: ControlledSupervisor {
    var configuration: Configuration { config }
    var isShuttingDown: Bool { shuttingDown }
    var isReady: Bool { upstreamReady }
    var supervisedMarkets: [String] { Array(slots.keys) }

    /// A market's machine, or the paper venue's (`VenueChild.name`) when the supervisor runs it.
    func machine(of market: String) -> (machine: MarketSupervisor, removing: Bool)? {
        slot(named: market).map { ($0.machine, $0.removing) }
    }

    func stoppedByOperatorSince(_ market: String) -> String? { stoppedByOperator[market] }

    /// Remembers (`stop`) or forgets (`start`, `restart`) an operator's stop, durably, before the
    /// machine acts and so before the answer (`OperatorStops.apply`); a failure is logged and the
    /// command goes on (stopping is the safe direction).
    private func rememberStop(_ command: ControlRequest.Command, market: String) {
        guard let error = operatorStops.apply(command, market: market, to: &stoppedByOperator) else { return }
        log.note(
            "\(market): cannot \(command == .stop ? "record" : "forget") the operator's stop in \(operatorStops.folder): \(error)",
            market: market, event: "OPERATOR_STOP_NOT_RECORDED")
    }

    func operatorAsked(_ command: ControlRequest.Command, market: String) {
        guard let slot = slot(named: market) else { return }
        let t = now()
        let was = slot.machine.state.rawValue
        // The venue's stop is not durable: it follows the configuration at the next supervisor start.
        if slot !== venue { rememberStop(command, market: market) }
        switch command {
        case .start:
            log.note("\(market): start requested by an operator (was \(was))", market: market, event: "MARKET_START_REQUESTED")
            apply(market, slot.machine.start(now: t, byOperator: true))
        case .restart:
            log.note("\(market): restart requested by an operator (was \(was))", market: market, event: "MARKET_RESTART_REQUESTED")
            apply(market, slot.machine.restart(now: t))
        case .stop:
            log.note("\(market): stop requested by an operator (was \(was))", market: market, event: "MARKET_STOP_REQUESTED")
            apply(market, slot.machine.stop(now: t))
        case .status, .reload:
            return
        }
    }
}
