import Platform
import Wire

#if canImport(Glibc)
import Glibc
#endif

/// The link's side of the journal (docs/robot-worker.md, "What is bounded"): this run's un-acked
/// lines spilled to the journal while the watchdog is away, the verified prefix following each
/// durable batch, rotation (into `events.1.ndjson` once all is acked, into a sealed segment while
/// it is not) and the un-acked ceiling.
extension WatchdogLink {
    /// Drops this run's un-acked lines from memory (the journal holds them durably); the next
    /// welcome reads them back from the journal's files.
    func spillCurrent() {
        guard let last = current.lines.last else { return }
        let count = current.pending + (spilled?.count ?? 0)
        let bytes = current.pendingBytes + (spilled?.bytes ?? 0)
        if spilled == nil {
            Worker.note("\(log.market): \(bytes) bytes of un-acked events; kept in the journal, re-read when the watchdog is back", .notice)
        }
        spilled = (last.seq, count, bytes)
        current.lines.removeAll()
        current.head = 0
        current.sent = 0
        current.pendingBytes = 0
    }

    /// A batch of this run's lines is durable: the verified prefix follows it, and a journal past
    /// its size is rotated even while the watchdog is away (into a segment).
    func durable(_ bytes: [UInt8], _ events: [Event]) {
        keeper?.durable(bytes, events, size: journal.size)
        rotateJournalIfDue()
        observeCeiling()
    }

    /// Rotates the journal when it is due: to `events.1.ndjson` once every event is acked (the
    /// segments, all acked, are deleted; when the journal is not due, the newest of them becomes
    /// `events.1.ndjson`), or, past its size while events are un-acked, into the
    /// next segment, which the journal keeps until they are acked.
    func rotateJournalIfDue() {
        let size = journal.size
        let tooBig = size > settings.journalMaxBytes
        guard unacked == 0 else {
            // Sealed only while the watchdog is away or far behind: a connected watchdog's acks
            // come within milliseconds, and the ack then rotates the whole journal as below.
            guard tooBig, phase != .streaming || size > 2 * settings.journalMaxBytes else { return }
            let segment = segments.nextSegmentPath()
            do {
                try journal.rotate(toSegment: segment)
                journalFirstMonotonic = nil
                sealedSegments = true
                keeper?.sealed(as: String(segment.split(separator: "/").last ?? ""), fresh: journal.identity)
                Worker.note("\(journal.path): \(unacked) event(s) not acked yet; sealed as \(segment) (kept until acked)", .notice)
            } catch {
                problem("\(journal.path): cannot seal as \(segment): \(error)")
            }
            return
        }
        let sealed = sealedSegments ? segments.list() : []
        sealedSegments = false
        let tooOld = journalFirstMonotonic.map { Double(MonotonicClock.nowNanos() - $0) / 1e9 > settings.journalMaxAge } ?? false
        guard tooBig || tooOld else {
            if let newest = sealed.last {
                // The newest segment, all acked, becomes the rotated file: what the journal keeps of
                // its acked history stays one run of seqs up to `events.ndjson` (the older rotated
                // file, from before the segments, would leave a gap behind it).
                for path in sealed.dropLast() { unlink(path) }
                let kept = rename(newest, journal.rotatedPath) == 0
                if !kept { unlink(newest) }
                // Durable, so a power cut cannot bring back a segment before a later rotation.
                try? FileIO.syncDirectory(of: journal.path)
                keeper?.segmentsDeleted()
                Worker.note(
                    "\(journal.path): every event acked; \(kept ? "kept the newest of \(sealed.count) sealed segment(s) as \(journal.rotatedPath), deleted the rest" : "deleted \(sealed.count) sealed segment(s)")",
                    .notice)
            }
            return
        }
        // Unlinked first: the new journal's creation fsyncs the folder, making both durable.
        for path in sealed { unlink(path) }
        do {
            try journal.rotate()
            journalFirstMonotonic = nil
            Worker.note("\(journal.path): every event acked; rotated to \(journal.rotatedPath) (\(tooBig ? "size" : "age"))")
            keeper?.rotated(fresh: journal.identity)
        } catch {
            problem("\(journal.path): cannot rotate: \(error)")
        }
    }

    /// Holds the un-acked bytes under the ceiling: tells the worker when it trips or clears.
    func observeCeiling() {
        guard let change = ceiling.observe(unackedBytes: unackedBytes) else { return }
        lastCeilingChange = change
        onCeiling?(change)
    }

    /// Keeps `keeper`'s verified prefix moving from now on (a new journal after a quarantine).
    public func follow(_ keeper: VerifiedPrefixKeeper) { self.keeper = keeper }

    /// Tells `onCeiling` again of a trip that happened before it was set (during start-up).
    public func replayCeiling() {
        if ceiling.over, let change = lastCeilingChange { onCeiling?(change) }
    }

    /// Holds the re-offer at the sealed segments `audit` has not confirmed (`SegmentAudit`); each
    /// outcome lets the stream go on (past a damaged segment, which is never read). A damaged
    /// segment is renamed aside (`*.damaged-RUN`, as a damaged journal is at start) so that no
    /// rotation deletes it: it stays for the operator; the open descriptors are not affected.
    public func hold(for audit: SegmentAudit) {
        backlog.audit = audit
        audit.onOutcome = { [unowned self] outcome in
            if outcome.damage != nil {
                let aside = outcome.path + ".damaged-" + log.runID
                if rename(outcome.path, aside) == 0 {
                    try? FileIO.syncDirectory(of: journal.path)
                    keeper?.setAside(segment: String(outcome.path.split(separator: "/").last ?? ""))
                    keeper?.write()
                    Worker.note("\(outcome.path): damaged; moved to \(aside) (kept for the operator)", .error)
                }
            }
            self.pump()
        }
    }

    /// The sealed segments' check after READY, if the start deferred one.
    public var audit: SegmentAudit? { backlog.audit }
}
