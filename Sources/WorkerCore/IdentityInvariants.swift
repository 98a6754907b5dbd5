import RobotConfig

/// The identity invariants (docs/robot-worker.md, "Identity"), checked on a market's spec:
/// 1. every stream id is canonical: it does not contain the execution instrument when that differs
///    from the canonical one (`MES1` under canonical `ES`);
/// 2. each stream's instrument equals the canonical instrument;
/// 3. the execution instrument is present for every stream.
public struct IdentityInvariants: Sendable, Equatable {
    public var canonical: String
    public var execution: String
    public var streams: [StreamSpec]

    public init(canonical: String, execution: String, streams: [StreamSpec]) {
        self.canonical = canonical
        self.execution = execution
        self.streams = streams
    }

    public struct Result: Sendable, Equatable {
        /// One line per violation, in stream order then rule order.
        public var violations: [String]
        public var pass: Bool { violations.isEmpty }
    }

    public var streamIDs: [String] { streams.map(\.id) }

    public func check() -> Result {
        var violations: [String] = []
        for stream in streams {
            if !execution.isEmpty, execution != canonical, stream.id.uppercased().contains(execution.uppercased()) {
                violations.append(
                    "stream \(stream.id): id contains the execution instrument \(execution); expected a canonical id under \(canonical)")
            }
            if stream.instrument != canonical {
                violations.append("stream \(stream.id): instrument is \(stream.instrument), expected the canonical instrument \(canonical)")
            }
            if execution.isEmpty {
                violations.append("stream \(stream.id): execution instrument is missing")
            }
        }
        return Result(violations: violations)
    }
}
