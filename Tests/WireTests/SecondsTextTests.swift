import Testing
import Wire

/// The three presentations of seconds, pinned: operators' log lines, alerts and tables use them.
@Suite struct SecondsTextTests {
    @Test func withItsUnitAndPrecisionBySize() {
        #expect(SecondsText.format(0.314) == "0.31 s")
        #expect(SecondsText.format(1.0) == "1.0 s")
        #expect(SecondsText.format(3.14) == "3.1 s")
        #expect(SecondsText.format(42.4) == "42 s")
        #expect(SecondsText.format(-1) == "0.00 s")
    }

    @Test func compactIsWholeOrOneDecimal() {
        #expect(SecondsText.compact(600) == "600")
        #expect(SecondsText.compact(300.5) == "300.5")
        #expect(SecondsText.compact(0.25) == "0.3")
    }

    @Test func tenthsAreCutNotRounded() {
        #expect(SecondsText.tenths(12.39) == "12.3")
        #expect(SecondsText.tenths(0.05) == "0.0")
    }
}
