import Foundation
import Guard
import Platform
import RobotConfig
import Wire

#if canImport(Glibc)
import Glibc
#endif

/// Who may speak on a new connection: reads its first line (the hello) and decides, from the hello,
/// the peer's kernel credentials and the kernel's lock table, whether it is an operator, a worker
/// speaking for a market, or refused. It changes nothing; the server applies the answer.
///
/// Only the service's own user speaks for a market, and only its lock holder with a fence: a
/// process that holds no lock of this market may deliver a refusal (fence 0) and nothing else
/// (docs/watchdog.md, "run"; docs/PROTOCOL.md).
struct HelloAdmission {
    /// A worker admitted for `market`.
    struct Worker {
        var market: String
        var runID: String
        /// The fence the hello claimed, verified against the kernel's lock table when above 0.
        var fence: Int64
        /// The earlier runs the hello resumes (`resume_runs`).
        var resumeRuns: [String]
        var wantsAppliedNotices: Bool
    }

    enum Decision {
        case `operator`
        case worker(Worker)
        case refused(RejectionReason, String)
    }

    let paths: Paths
    /// The uid the watchdog runs as.
    let ownUID: UInt32

    func admit(_ bytes: [UInt8], peer: UnixSocket.Credentials?) -> Decision {
        let hello: Hello
        do {
            _ = try JSONParser.parse(bytes)
            hello = try WireCoding.decode(Hello.self, from: bytes)
        } catch {
            return .refused(.badHello, "the first line is not a hello: \(error)")
        }
        guard hello.v == WireFormat.version, hello.type == "hello" else {
            return .refused(.badHello, "expected {\"v\":\(WireFormat.version),\"type\":\"hello\",…}")
        }
        switch hello.role {
        case .operator:
            return .operator
        case .worker:
            guard let market = hello.market, Identifier.isValidMarket(market), let runID = hello.runID, Identifier.isValidRunID(runID),
                let pid = hello.pid, let fence = hello.fence, fence >= 0
            else {
                return .refused(.badHello, "a worker hello needs market, run_id, pid and fence")
            }
            let resume = hello.resumeRuns ?? []
            guard resume.count <= 4 * WatchedMarket.maxRuns, resume.allSatisfy(Identifier.isValidRunID) else {
                return .refused(.badHello, "resume_runs: at most \(4 * WatchedMarket.maxRuns) run ids")
            }
            guard let peer, peer.pid == pid else {
                let actual = peer.map { String($0.pid) } ?? "unknown"
                return .refused(.peerMismatch, "hello pid \(pid) is not the peer's pid \(actual)")
            }
            guard OperatorAccess.mayChangeState(peerUID: peer.uid, ownUID: ownUID) else {
                return .refused(.notPermitted, "uid \(peer.uid) may not speak for a market; only root and uid \(ownUID) may")
            }
            if fence > 0, !holdsLock(pid: pid, market: market) {
                return .refused(.peerMismatch, "pid \(pid) says it holds \(market) with fence \(fence), but it holds no lock of \(market)")
            }
            return .worker(
                Worker(market: market, runID: runID, fence: fence, resumeRuns: resume, wantsAppliedNotices: hello.appliedNotices == true))
        }
    }

    /// True when the kernel says `pid` holds `market`'s lock (`MarketGuard.holds`, the answer the
    /// worker's refusal asks too).
    private func holdsLock(pid: Int32, market: String) -> Bool {
        guard let market = CanonicalMarket(market) else { return false }
        return FlockMarketGuard(folder: paths.lockDir).holds(pid: pid, market: market)
    }
}
