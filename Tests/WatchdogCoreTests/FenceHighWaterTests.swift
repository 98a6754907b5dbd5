import Testing

@testable import WatchdogCore

@Suite struct FenceHighWaterTests {
    func market(mark: Int64, runs: [(String, Int64)]) -> WatchedMarket {
        var m = WatchedMarket(canonicalInstrument: "ES", now: 0)
        m.fenceHighWater = mark
        m.runs = runs.map { WatchedMarket.RunRecord(runID: $0.0, appliedSeq: 1, fence: $0.1, pid: 1) }
        return m
    }

    @Test func aHelloBelowTheMarkIsRegressed() {
        #expect(FenceHighWater.regression(fence: 1, runID: "new", market: market(mark: 2, runs: [("old", 2)])) == 2)
    }

    @Test func aHelloAtTheMarkOfAnotherRunIsRegressed() {
        #expect(FenceHighWater.regression(fence: 2, runID: "new", market: market(mark: 2, runs: [("old", 2)])) == 2)
    }

    @Test func aReconnectAtItsOwnMarkIsNot() {
        #expect(FenceHighWater.regression(fence: 2, runID: "me", market: market(mark: 2, runs: [("old", 1), ("me", 2)])) == nil)
    }

    @Test func aHigherFenceAFirstRunAndARefusalAreNot() {
        #expect(FenceHighWater.regression(fence: 3, runID: "new", market: market(mark: 2, runs: [("old", 2)])) == nil)
        #expect(FenceHighWater.regression(fence: 1, runID: "new", market: nil) == nil)
        #expect(FenceHighWater.regression(fence: 0, runID: "refused", market: market(mark: 2, runs: [])) == nil)
    }
}
