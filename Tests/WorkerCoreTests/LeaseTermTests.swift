import PostgresGuard
import Testing

@testable import WorkerCore

/// The worker's lease deadline, without a database: replies and the monotonic time in, actions out
/// (docs/MULTIHOST.md, "The worker's deadline"). Lease 3 s: renewals every 1 s, margin 0.3 s.
@Suite struct LeaseTermTests {
    static let ms: Int64 = 1_000_000
    let settings = LeaseTerm.Settings(leaseSeconds: 3, requestTimeoutSeconds: 3)

    func sent(_ actions: [LeaseTerm.Action]) -> (LeaseRequest, UInt64)? {
        for a in actions { if case .send(let r, let id) = a { return (r, id) } }
        return nil
    }

    /// A term that holds the lease with `fence`, acquired by a request sent at `at`.
    func holding(fence: Int64 = 7, at: Int64 = 0) -> LeaseTerm {
        var term = LeaseTerm(settings: settings, now: at)
        let (_, id) = sent(term.tick(now: at))!
        _ = term.reply(.acquired(id: id, fence: fence, remainingSeconds: 3), now: at + 5 * Self.ms)
        return term
    }

    @Test func theFirstTickAsksAboveTheFloorAndTheGrantHoldsUntilTheSendPlusLeaseMinusMargin() {
        var term = LeaseTerm(settings: settings, now: 0)
        term.fenceFloor = 41
        let actions = term.tick(now: 0)
        #expect(sent(actions)?.0 == .acquire(floor: 41))
        #expect(term.tick(now: 1 * Self.ms).isEmpty, "one request at a time")
        let granted = term.reply(.acquired(id: sent(actions)!.1, fence: 42, remainingSeconds: 3), now: 40 * Self.ms)
        #expect(granted.contains(.hold(fence: 42)) && granted.contains(.databaseReachable))
        #expect(term.role == .holding(fence: 42, deadline: 2_700 * Self.ms), "from the SEND at 0, not the reply at 40 ms")
        #expect(term.mayTrade(now: 2_699 * Self.ms))
        #expect(!term.mayTrade(now: 2_700 * Self.ms))
    }

    @Test func renewalsEveryThirdOfTheLeaseMoveTheDeadlineFromTheirSendTime() {
        var term = holding()
        #expect(sent(term.tick(now: 999 * Self.ms)) == nil)
        let (request, id) = sent(term.tick(now: 1_000 * Self.ms))!
        #expect(request == .renew(fence: 7))
        let actions = term.reply(.renewed(id: id, remainingSeconds: 3, standbys: 2), now: 1_200 * Self.ms)
        #expect(actions.contains(.renewed(latencyNanos: 200 * Self.ms)))
        #expect(term.role == .holding(fence: 7, deadline: 3_700 * Self.ms))
        #expect(term.standbys == 2)
        #expect(term.nextWake == 2_000 * Self.ms)
    }

    @Test func withoutAConfirmedRenewalTradingStopsAtTheDeadlineAndANewAcquisitionFollows() {
        var term = holding()
        let (_, renewID) = sent(term.tick(now: 1_000 * Self.ms))!
        // The renewal hangs (a stalled network): nothing before the deadline, LEASE_LOST at it.
        #expect(term.tick(now: 2_699 * Self.ms).isEmpty)
        let lost = term.tick(now: 2_700 * Self.ms)
        #expect(lost.contains { if case .stopTrading = $0 { return true } else { return false } })
        #expect(term.role.word == "LEASE_LOST")
        #expect(!term.mayTrade(now: 2_700 * Self.ms))
        // The hung renewal confirmed late extends nothing; the next request is an acquisition.
        let late = term.reply(.renewed(id: renewID, remainingSeconds: 0.1, standbys: 0), now: 2_900 * Self.ms)
        #expect(!term.mayTrade(now: 2_900 * Self.ms))
        #expect(sent(late)?.0 == .acquire(floor: 7), "a new fence above the old one, never a resume")
    }

    @Test func aHolderStoppedPastItsDeadlineIsStoppedByTheCheckBeforeAnOrderEvenWithAConfirmationQueued() {
        var term = holding()
        let (_, renewID) = sent(term.tick(now: 1_000 * Self.ms))!
        // SIGSTOP at 1.001 s for 10 s; the confirmation (sent at 1 s) is read after the wake.
        let wake = 11_000 * Self.ms
        #expect(!term.mayTrade(now: wake))
        let actions = term.reply(.renewed(id: renewID, remainingSeconds: 2.9, standbys: 0), now: wake)
        #expect(actions.first.map { if case .stopTrading = $0 { return true } else { return false } } == true)
        #expect(!term.mayTrade(now: wake))
    }

    @Test func aRenewalTheDatabaseRefusesLosesTheLeaseAtOnce() {
        var term = holding()
        let (_, id) = sent(term.tick(now: 1_000 * Self.ms))!
        let actions = term.reply(.notRenewed(id: id), now: 1_010 * Self.ms)
        #expect(actions.contains { if case .stopTrading = $0 { return true } else { return false } })
        #expect(sent(actions)?.0 == .acquire(floor: 7))
        #expect(term.renewFailures == 1)
    }

    @Test func aStandbyAsksAgainRightAfterTheExpiryItWasToldAndAtOnceOnARelease() {
        var term = LeaseTerm(settings: settings, now: 0)
        let (_, id) = sent(term.tick(now: 0))!
        let holder = LeaseHolder(host: "a", runID: "r", pid: 1, fence: 3, remainingSeconds: 0.4, standbys: 1)
        let actions = term.reply(.held(id: id, holder), now: 10 * Self.ms)
        #expect(actions.contains(.standby(holder)))
        #expect(term.nextWake == 415 * Self.ms, "expiry 0.4 s after the reply, plus 5 ms")
        // The same holder again: no new STANDBY report.
        let (_, id2) = sent(term.tick(now: 415 * Self.ms))!
        let renewedHolder = LeaseHolder(host: "a", runID: "r", pid: 1, fence: 3, remainingSeconds: 2.9, standbys: 1)
        #expect(
            !term.reply(.held(id: id2, renewedHolder), now: 420 * Self.ms).contains {
                if case .standby = $0 { return true } else { return false }
            })
        #expect(term.nextWake == 1_420 * Self.ms, "at most a third of the lease")
        // The holder's clean stop: NOTIFY, and an acquisition at once.
        let notified = term.reply(.releasedByHolder, now: 500 * Self.ms)
        #expect(sent(notified)?.0 == .acquire(floor: 0))
    }

    @Test func aReleaseNotifiedWhileAnAcquireIsInFlightIsAskedAgainAsSoonAsThatOneIsAnswered() {
        var term = LeaseTerm(settings: settings, now: 0)
        let (_, id) = sent(term.tick(now: 0))!
        let holder = LeaseHolder(host: "a", runID: "r", pid: 1, fence: 3, remainingSeconds: 2.5, standbys: 1)
        _ = term.reply(.held(id: id, holder), now: 5 * Self.ms)
        // A poll goes out; the holder releases (NOTIFY) before its answer, which says "held".
        let (_, id2) = sent(term.tick(now: 1_005 * Self.ms))!
        #expect(sent(term.reply(.releasedByHolder, now: 1_006 * Self.ms)) == nil, "one request at a time")
        let answered = term.reply(.held(id: id2, holder), now: 1_007 * Self.ms)
        #expect(sent(answered)?.0 == .acquire(floor: 0), "asked again at once, not at the next poll")
        // Without a NOTIFY, a "held" answer waits for the poll.
        let (_, id3) = sent(answered)!
        #expect(sent(term.reply(.held(id: id3, holder), now: 1_010 * Self.ms)) == nil)
    }

    @Test func anUnreachableDatabaseIsReportedOnceAndItsReturnOnce() {
        var term = LeaseTerm(settings: settings, now: 0)
        let (_, id) = sent(term.tick(now: 0))!
        let first = term.reply(.failed(id: id, .unreachable("connection refused")), now: 1 * Self.ms)
        #expect(first == [.databaseUnreachable("connection refused")])
        #expect(term.nextWake == 1_001 * Self.ms)
        let (_, id2) = sent(term.tick(now: 1_001 * Self.ms))!
        #expect(term.reply(.failed(id: id2, .unreachable("timed out")), now: 1_002 * Self.ms).isEmpty)
        let (_, id3) = sent(term.tick(now: 2_002 * Self.ms))!
        let back = term.reply(.acquired(id: id3, fence: 1, remainingSeconds: 3), now: 2_010 * Self.ms)
        #expect(back.first == .databaseReachable && back.contains(.hold(fence: 1)))
    }

    @Test func aReplyToAnotherRequestAndAGrantTooLateToTradeOnAreNotHeld() {
        var term = LeaseTerm(settings: settings, now: 0)
        let (_, id) = sent(term.tick(now: 0))!
        #expect(term.reply(.acquired(id: id + 99, fence: 5, remainingSeconds: 3), now: 1 * Self.ms).isEmpty)
        let late = term.reply(.acquired(id: id, fence: 5, remainingSeconds: 0.1), now: 2_800 * Self.ms)
        #expect(!late.contains(.hold(fence: 5)))
        #expect(sent(late)?.0 == .acquire(floor: 0), "asked again at once")
    }

    @Test func aFenceNotAboveTheWorkersOwnIsAbandonedAndAskedAgainAboveIt() {
        var term = holding(fence: 7)
        let actions = term.abandon(now: 10 * Self.ms, floor: 9)
        #expect(term.role.word == "LEASE_LOST")
        #expect(sent(actions)?.0 == .acquire(floor: 9))
    }
}
