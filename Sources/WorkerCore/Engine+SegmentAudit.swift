import Wire

/// The engine's side of the sealed segments' check after READY (`SegmentAudit`).
extension Engine {
    /// A sealed segment no longer matches its checksum: what a failed `event_log_integrity` does at
    /// start, for a running worker. One `STARTUP_CHECKS` event (`after_ready: true`, naming the
    /// file, its offset range and both checksums; the watchdog raises one `INTEGRITY_VIOLATION`
    /// alert), the `STARTUP_CHECKS_FAILED` latch in OBSERVE_ONLY (persisted: the next start keeps
    /// it until an operator clears it), never a crash. A SHUTDOWN latch already set stays.
    public func sealedSegmentDamaged(_ outcome: SegmentAudit.Outcome) {
        guard let check = outcome.damage, case .damaged(let segment, let found, _) = outcome else { return }
        log.emit(
            .startupChecks,
            [
                "passed": false, "after_ready": true,
                "checks": .array([.object(["name": .string(check.name), "passed": false, "detail": .string(check.detail)])]),
                "segment": .string(segment.path), "from_offset": 0, "to_offset": .int(Int64(segment.bytes)),
                "recorded_crc32c": .string(JournalScan.hex(segment.crc32c)),
                "found_crc32c": found.map { .string(JournalScan.hex($0)) } ?? .null,
            ])
        if latch == nil {
            latch = FailSafe.Latch(
                trigger: .startupChecksFailed, reason: "\(check.name): \(check.detail)", latchedAtUTC: UTCTimestamp.now(),
                runID: log.runID)
        }
        if mode != .shutdown { change(to: .observeOnly, reason: "latched: \(check.name): \(check.detail)") }
        writeSnapshot()
    }
}
