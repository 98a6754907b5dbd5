import Platform
import Testing
import Wire

@Suite("UTCTimestamp")
struct UTCTimestampTests {
    @Test(
        "format and parse are inverse",
        arguments: [
            (Int64(0), "1970-01-01T00:00:00.000000Z"),
            (Int64(1), "1970-01-01T00:00:00.000001Z"),
            (Int64(-1), "1969-12-31T23:59:59.999999Z"),
            (Int64(1_709_210_096_789_012), "2024-02-29T12:34:56.789012Z"),
            (Int64(951_782_400_000_000), "2000-02-29T00:00:00.000000Z"),
            (Int64(1_795_245_300_123_456), "2026-11-21T07:15:00.123456Z"),
            (Int64(1_704_067_199_999_999), "2023-12-31T23:59:59.999999Z"),
            (Int64(253_402_300_799_999_999), "9999-12-31T23:59:59.999999Z"),
        ])
    func roundTrip(_ micros: Int64, _ text: String) {
        #expect(UTCTimestamp.format(micros: micros) == text)
        #expect(UTCTimestamp.parse(text) == micros)
    }

    @Test("now() formats the current time in the wire shape")
    func now() throws {
        let before = UTCTimestamp.nowMicros()
        let text = UTCTimestamp.now()
        let after = UTCTimestamp.nowMicros()
        #expect(text.utf8.count == 27)
        let parsed = try #require(UTCTimestamp.parse(text))
        #expect(parsed >= before && parsed <= after)
    }

    @Test(
        "parse rejects anything but YYYY-MM-DDTHH:MM:SS.f…Z of a real date",
        arguments: [
            "2024-02-29T12:34:56.789012", // no Z
            "2024-02-29T12:34:56.789012+00:00", // offset instead of Z
            "2024-02-29T12:34:56Z", // no fraction
            "2024-02-29T12:34:56.Z", // empty fraction
            "2024-13-01T00:00:00.000000Z", // month 13
            "2024-00-01T00:00:00.000000Z", // month 0
            "2024-02-30T00:00:00.000000Z", // Feb 30
            "2023-02-29T00:00:00.000000Z", // not a leap year
            "1900-02-29T00:00:00.000000Z", // century, not a leap year
            "2024-04-31T00:00:00.000000Z", // April has 30 days
            "2024-01-00T00:00:00.000000Z", // day 0
            "2024-01-01T24:00:00.000000Z", // hour 24
            "2024-01-01T00:60:00.000000Z", // minute 60
            "2024-01-01T00:00:60.000000Z", // second 60
            "2024-01-01T00:00:00.1234567890Z", // 10 fraction digits
            "2024-01-01 00:00:00.000000Z", // space instead of T
            "2024-01-01t00:00:00.000000Z", // lower-case t
            "2024-01-01T00:00:00.000000z", // lower-case z
            "2024/01/01T00:00:00.000000Z",
            "2024-1-01T00:00:00.000000Z",
            "2024-01-01T00:00:00,000000Z", // comma
            "2024-01-01T00:00:00.00a000Z",
            "+024-01-01T00:00:00.000000Z",
            "", "Z", "yesterday",
        ])
    func rejects(_ text: String) {
        #expect(UTCTimestamp.parse(text) == nil)
    }

    @Test(
        "1 to 9 fraction digits scale to microseconds",
        arguments: [
            ("1", Int64(100_000)), ("12", 120_000), ("123", 123_000), ("1234", 123_400), ("12345", 123_450),
            ("123456", 123_456), ("1234567", 123_456), ("12345678", 123_456), ("123456789", 123_456),
            ("000001", 1), ("0000009", 0), ("999999999", 999_999), ("5", 500_000), ("05", 50_000),
        ])
    func fractions(_ digits: String, _ micros: Int64) {
        let base: Int64 = 1_795_245_300_000_000 // 2026-11-21T07:15:00Z
        #expect(UTCTimestamp.parse("2026-11-21T07:15:00.\(digits)Z") == base + micros)
    }

    @Test("leap days of 400-year centuries are valid")
    func leapCenturies() {
        #expect(UTCTimestamp.parse("2000-02-29T00:00:00.0Z") == 951_782_400_000_000)
        #expect(UTCTimestamp.parse("2400-02-29T00:00:00.0Z") != nil)
        #expect(UTCTimestamp.parse("2100-02-29T00:00:00.0Z") == nil)
    }

    @Test("the monotonic clock does not go backwards")
    func monotonic() {
        let a = MonotonicClock.nowNanos()
        let b = MonotonicClock.nowNanos()
        #expect(b >= a)
    }
}
