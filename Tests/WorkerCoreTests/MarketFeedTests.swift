import Testing
import Wire

@testable import WorkerCore

@Suite struct MarketFeedTests {
    @Test func theSyntheticFeedIsDeterministicPerSeedAndStaysOnTheTickGrid() {
        var a = SyntheticFeed(instrument: "MES", seed: 42, startPrice: 5000, tickSize: 0.25)
        var b = SyntheticFeed(instrument: "MES", seed: 42, startPrice: 5000, tickSize: 0.25)
        var c = SyntheticFeed(instrument: "MES", seed: 43, startPrice: 5000, tickSize: 0.25)
        let pa = (0..<200).map { _ in a.next(timeUTC: "t").price }
        let pb = (0..<200).map { _ in b.next(timeUTC: "t").price }
        let pc = (0..<200).map { _ in c.next(timeUTC: "t").price }
        #expect(pa == pb)
        #expect(pa != pc)
        #expect(pa.allSatisfy { ($0 / 0.25).rounded() * 0.25 == $0 && $0 > 0 })
        #expect(zip(pa.dropFirst(), pa).allSatisfy { abs($0 - $1) <= 0.5 })
    }

    @Test func ticksRoundTripAndBadTicksAreRejectedWithTheField() throws {
        let t = Tick(instrument: "MES", price: 5000.25, size: 3, time: "2026-11-21T07:15:00.123000Z")
        #expect(try Tick.parse(Array(t.encodedLine().dropLast())) == t)
        #expect(throws: LineError.self) {
            try Tick.parse(Array("{\"instrument\":\"MES\",\"price\":-1,\"size\":1,\"time\":\"2026-11-21T07:15:00.1Z\"}".utf8))
        }
        do {
            _ = try Tick.parse(Array("{\"instrument\":\"MES\",\"price\":1,\"size\":1}".utf8))
            Issue.record("a tick without time was accepted")
        } catch {
            #expect(error.detail.hasPrefix("time:"))
        }
    }
}
