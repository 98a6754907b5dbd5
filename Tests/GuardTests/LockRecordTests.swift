import Platform
import TestSupport
import Testing

@testable import Guard

let sampleRecord = LockRecord(
    runID: "ES-20261121T071500Z-4f3a9c1b", acquiredAtUTC: "2026-11-21T07:15:00.123456Z", canonical: "ES", pid: 4242,
    host: "trader-1", fence: 7)

/// The record's JSON with one member replaced (or removed when `json` is nil).
func recordBytes(replacing key: String, with json: String?) -> [UInt8] {
    let members: [(String, String)] = [
        ("run_id", "\"ES-20261121T071500Z-4f3a9c1b\""), ("acquired_at_utc", "\"2026-11-21T07:15:00.123456Z\""),
        ("canonical_instrument", "\"ES\""), ("pid", "4242"), ("host", "\"trader-1\""), ("fence", "7"),
    ]
    let kept = members.compactMap { member -> String? in
        if member.0 != key { return "\"\(member.0)\":\(member.1)" }
        return json.map { "\"\(key)\":\($0)" }
    }
    return Array(("{" + kept.joined(separator: ",") + "}\n").utf8)
}

@Suite("LockRecord")
struct LockRecordTests {
    @Test("an empty file means released")
    func empty() {
        #expect(LockRecord.parse([]) == .released)
    }

    @Test("a record round-trips through encoded()")
    func roundTrip() {
        let bytes = sampleRecord.encoded()
        #expect(
            String(decoding: bytes, as: UTF8.self)
                == #"{"run_id":"ES-20261121T071500Z-4f3a9c1b","acquired_at_utc":"2026-11-21T07:15:00.123456Z","canonical_instrument":"ES","pid":4242,"host":"trader-1","fence":7}"#
                + "\n")
        #expect(LockRecord.parse(bytes) == .record(sampleRecord))
        #expect(recordBytes(replacing: "", with: nil) == bytes)
    }

    @Test("trailing newlines and spaces are tolerated")
    func trailingWhitespace() {
        #expect(LockRecord.parse(sampleRecord.encoded() + Array("  \n\n".utf8)) == .record(sampleRecord))
    }

    @Test("random bytes are unreadable, with their byte count")
    func randomBytes() {
        var random = SplitMix64(seed: 20_261_121)
        for length in [1, 2, 7, 64, 100, 4096] {
            let bytes = random.bytes(length)
            #expect(LockRecord.parse(bytes) == .unreadable(byteCount: length))
        }
        let whitespace = Array("\n \n".utf8)
        #expect(LockRecord.parse(whitespace) == .unreadable(byteCount: 3))
    }

    @Test("every truncation of a record is unreadable, never a record")
    func truncated() {
        let bytes = sampleRecord.encoded()
        // Cut anywhere before the closing brace: the JSON is incomplete.
        for length in 1..<(bytes.count - 1) {
            #expect(LockRecord.parse(Array(bytes[0..<length])) == .unreadable(byteCount: length), "prefix of \(length) bytes")
        }
        // Only the newline missing: the record is complete.
        #expect(LockRecord.parse(Array(bytes.dropLast())) == .record(sampleRecord))
    }

    @Test(
        "a record with a missing or invalid field is unreadable",
        arguments: [
            ("pid", "0"), ("pid", "-4"), ("pid", "2147483648"), ("pid", "\"4242\""), ("pid", nil),
            ("fence", "0"), ("fence", "-1"), ("fence", "7.0"), ("fence", nil),
            ("run_id", "\"\""), ("run_id", "\"a/b\""), ("run_id", "7"), ("run_id", nil),
            ("acquired_at_utc", "\"yesterday\""), ("acquired_at_utc", "\"2026-11-21T07:15:00Z\""), ("acquired_at_utc", nil),
            ("canonical_instrument", "5"), ("canonical_instrument", nil),
            ("host", "null"), ("host", nil),
        ] as [(String, String?)])
    func invalidField(_ key: String, _ json: String?) {
        let bytes = recordBytes(replacing: key, with: json)
        #expect(LockRecord.parse(bytes) == .unreadable(byteCount: bytes.count))
    }

    @Test("JSON that is not an object is unreadable")
    func notAnObject() {
        for text in ["[]", "null", "\"record\"", "7"] {
            #expect(LockRecord.parse(Array(text.utf8)) == .unreadable(byteCount: text.utf8.count))
        }
    }
}

@Suite("FenceFile")
struct FenceFileTests {
    static let sample = FenceFile(
        fence: 9, runID: "ES-20261121T071500Z-4f3a9c1b", pid: 4242, host: "trader-1", lockDevice: 65024, lockInode: 16_220_186)

    @Test("a fence record round-trips")
    func roundTrip() {
        let bytes = Self.sample.encoded()
        #expect(
            String(decoding: bytes, as: UTF8.self)
                == #"{"fence":9,"run_id":"ES-20261121T071500Z-4f3a9c1b","pid":4242,"host":"trader-1","lock_device":65024,"lock_inode":16220186}"#
                + "\n")
        #expect(FenceFile.parse(bytes) == Self.sample)
    }

    @Test("device and inode numbers above Int64.max survive the round trip")
    func largeNumbers() {
        var fence = Self.sample
        fence.lockDevice = UInt64.max
        fence.lockInode = 1 << 63
        #expect(FenceFile.parse(fence.encoded()) == fence)
    }

    @Test("damaged fence files are nil")
    func damaged() {
        var random = SplitMix64(seed: 7)
        let bytes = Self.sample.encoded()
        #expect(FenceFile.parse([]) == nil)
        let garbage = random.bytes(40)
        #expect(FenceFile.parse(garbage) == nil)
        #expect(FenceFile.parse(Array("{}".utf8)) == nil)
        for length in 1..<(bytes.count - 1) {
            #expect(FenceFile.parse(Array(bytes[0..<length])) == nil, "prefix of \(length) bytes")
        }
        #expect(FenceFile.parse(Array(#"{"fence":0,"run_id":"R","pid":1,"host":"h","lock_device":1,"lock_inode":2}"#.utf8)) == nil)
        #expect(FenceFile.parse(Array(#"{"fence":3,"run_id":"R","pid":0,"host":"h","lock_device":1,"lock_inode":2}"#.utf8)) == nil)
        #expect(FenceFile.parse(Array(#"{"fence":3,"run_id":"R","pid":1,"host":"h","lock_device":1}"#.utf8)) == nil)
        #expect(FenceFile.parse(Array(#"{"fence":"3","run_id":"R","pid":1,"host":"h","lock_device":1,"lock_inode":2}"#.utf8)) == nil)
        #expect(
            FenceFile.parse(Array(#"{"fence":3,"run_id":"R","pid":1,"host":"h","lock_device":1,"lock_inode":2}"#.utf8))
                == FenceFile(fence: 3, runID: "R", pid: 1, host: "h", lockDevice: 1, lockInode: 2))
    }
}
