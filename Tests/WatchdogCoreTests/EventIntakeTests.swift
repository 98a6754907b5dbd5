import Foundation
import Platform
import Testing
import Wire

@testable import WatchdogCore

/// How an event line is saved: a passing identity status after a passing one lazily (`routine`,
/// acked with the next lazy save); the first status, a failing one, the pass after a failure and
/// every other event at once (`applied`).
@Suite struct EventIntakeTests {
    func outcome(_ events: [Event]) throws -> [String] {
        var fds: [Int32] = [0, 0]
        #expect(socketpair(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0, &fds) == 0)
        defer { close(fds[1]) }
        let reactor = try Reactor()
        let client = ClientConnection(serial: 1, line: LineConnection(fd: fds[0], reactor: reactor))
        defer { client.line.close() }
        client.role = .worker(market: "ES", runID: "ES-run-a")
        client.helloFence = 1
        var state = WatchdogState(configuredMarkets: ["ES"], now: WatchdogStateTests.start)
        return events.map { e in
            var line = e.encodedLine()
            if line.last == UInt8(ascii: "\n") { line.removeLast() }
            let o = line.withUnsafeBufferPointer {
                EventIntake.take($0, market: "ES", on: client, into: &state, now: WatchdogStateTests.start)
            }
            switch o {
            case .applied: return "applied"
            case .routine: return "routine"
            case .heartbeat: return "heartbeat"
            case .latchCleared: return "latchCleared"
            case .rejected(let reason, _): return "rejected \(reason.rawValue)"
            }
        }
    }

    @Test func aPassingIdentityStatusAfterAPassingOneIsRoutineNothingElseIs() throws {
        let t = WatchdogStateTests()
        let pass: JSONObject = ["pass": true, "violations": []]
        let got = try outcome([
            t.event(.lockAcquired, seq: 1),
            t.event(.identityInvariantsStatus, seq: 2, data: pass),
            t.event(.identityInvariantsStatus, seq: 3, data: pass),
            t.event(.identityInvariantsStatus, seq: 4, data: ["pass": false, "violations": ["stream MES1 is not canonical"]]),
            t.event(.identityInvariantsStatus, seq: 5, data: pass),
            t.event(.identityInvariantsStatus, seq: 6, data: pass),
            t.heartbeat(),
        ])
        #expect(got == ["applied", "applied", "routine", "applied", "applied", "routine", "heartbeat"])
    }
}
