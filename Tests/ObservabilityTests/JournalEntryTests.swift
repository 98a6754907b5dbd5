import Logging
import Testing

@testable import Observability

/// Journal entries: the fields a log call becomes, and journald's native protocol.
@Suite struct JournalEntryTests {
    @Test func aLogCallBecomesMessagePriorityIdentifierAndUpperCasedMetadata() {
        let entry = JournalEntry(
            identifier: "robot-worker", level: .warning, message: "ES: mode AGGRESSIVE -> SHUTDOWN",
            metadata: ["market": "ES", "run_id": "ES-1", "fence": "7", "event": "SYSTEM_MODE_CHANGE"])
        #expect(entry.fields.map(\.key) == ["MESSAGE", "PRIORITY", "SYSLOG_IDENTIFIER", "EVENT", "FENCE", "MARKET", "RUN_ID"])
        #expect(entry["PRIORITY"] == "4")
        #expect(entry["FENCE"] == "7")
        #expect(entry["MESSAGE"] == "ES: mode AGGRESSIVE -> SHUTDOWN")
    }

    @Test(arguments: [("market", "MARKET"), ("run-id", "RUN_ID"), ("_secret", "X_SECRET"), ("9lives", "X9LIVES"), ("", "X")])
    func metadataKeysBecomeValidFieldNames(key: String, field: String) {
        #expect(JournalEntry.fieldName(key) == field)
    }

    @Test func theNativeProtocolWritesPlainValuesAsAssignmentsAndMultiLineValuesWithTheirLength() throws {
        let entry = JournalEntry(fields: [("MESSAGE", "two\nlines"), ("MARKET", "ES")])
        let bytes = entry.nativeDatagram
        #expect(Array(bytes.prefix(8)) == Array("MESSAGE\n".utf8))
        #expect(Array(bytes[8..<16]) == [9, 0, 0, 0, 0, 0, 0, 0], "the length, little-endian 64-bit")
        #expect(String(decoding: bytes.suffix(11), as: UTF8.self) == "\nMARKET=ES\n")
        #expect(JournalEntry.decode(nativeDatagram: bytes) == entry)
        #expect(JournalEntry.decode(nativeDatagram: Array("MESSAGE\n\u{7}".utf8)) == nil, "a cut length is refused")
    }

    @Test(arguments: [(Logger.Level.critical, 2), (.error, 3), (.warning, 4), (.notice, 5), (.info, 6), (.debug, 7), (.trace, 7)])
    func levelsMapToSyslogPriorities(level: Logger.Level, priority: Int) {
        #expect(JournalEntry.priority(level) == priority)
    }
}
