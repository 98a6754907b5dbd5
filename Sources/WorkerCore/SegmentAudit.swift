import Foundation
import Platform

#if canImport(Glibc)
import Glibc
#endif

/// The sealed segments' checksums, re-computed after READY on a thread of their own
/// (docs/robot-worker.md, "Start-up reads only what it has not verified").
///
/// The start-up (`JournalScan` with `deferSegments`) checks a matching record's sealed segments by
/// name and exact size only: their checksums are the part of the verified prefix that grows with
/// history (a long watchdog outage seals one segment per `journal_max_bytes`). Why that is safe:
/// the start takes nothing from a sealed segment's bytes. Fences, used order IDs, unanswered and
/// accepted orders and the earlier runs to re-offer come from the record's `state`, written when
/// those bytes were checked; the only reader of a sealed segment's bytes is the re-offer to the
/// watchdog (`JournalBacklog`), and it holds at a segment until the segment is confirmed here. A
/// segment whose checksum no longer matches is never read for the watchdog (the backlog passes
/// over it) and latches the worker in OBSERVE_ONLY (`Engine.sealedSegmentDamaged`), the running
/// worker's equivalent of a failed `event_log_integrity` at start; the file is renamed aside
/// (`*.damaged-RUN`, as at start) and kept for the operator.
public final class SegmentAudit {
    /// A sealed segment as the record describes it: the whole file, `bytes` long, with `crc32c`.
    public struct Segment: Sendable, Equatable {
        public var path: String
        public var bytes: Int
        public var crc32c: UInt32
        public init(path: String, bytes: Int, crc32c: UInt32) {
            self.path = path
            self.bytes = bytes
            self.crc32c = crc32c
        }
    }

    /// What the check of one segment found.
    public enum Outcome: Sendable, Equatable {
        case confirmed(path: String)
        /// `found` is nil when the file could not be read (`why` says why).
        case damaged(Segment, found: UInt32?, why: String)

        public var path: String {
            switch self {
            case .confirmed(let path): return path
            case .damaged(let s, _, _): return s.path
            }
        }

        /// The failed `event_log_integrity` result naming the file, its offset range and both
        /// checksums (nil when confirmed).
        public var damage: StartupChecks.Result? {
            guard case .damaged(let s, let found, let why) = self else { return nil }
            let crcs = "CRC-32C \(found.map(JournalScan.hex) ?? "unreadable"), recorded \(JournalScan.hex(s.crc32c))"
            return StartupChecks.Result(
                name: StartupChecks.eventLogIntegrity, passed: false,
                detail: "the sealed segment \(s.path), bytes 0..<\(s.bytes), no longer matches its checksum (\(crcs)): \(why); "
                    + "found after READY, set aside, nothing in it re-sent")
        }
    }

    /// The segments still to confirm (paths), oldest first.
    public private(set) var unconfirmed: [String]
    /// Segments found damaged.
    public private(set) var damaged: [Outcome] = []
    /// Called on the loop for every outcome, in the segments' order (the link releases or passes
    /// over the segment).
    var onOutcome: ((Outcome) -> Void)?
    /// Called on the loop for a damaged segment, after `onOutcome` (the engine latches).
    public var onDamaged: ((Outcome) -> Void)?
    private var jobs: [(Segment, Int32)]
    private var inbox: ReactorInbox<Outcome>?

    /// The segments of `scan.deferred`, read through descriptors of their own (duplicated from
    /// the scan's), so a rename or an unlink by the loop meanwhile changes nothing.
    public init(scan: JournalScan) {
        jobs = scan.deferred.compactMap { segment in
            guard let file = scan.files.first(where: { $0.path == segment.path }) else { return nil }
            let fd = fcntl(file.fd, F_DUPFD_CLOEXEC, 0)
            return (segment, fd)
        }
        unconfirmed = jobs.map(\.0.path)
    }

    deinit { for (_, fd) in jobs where fd >= 0 { close(fd) } }

    /// Whether `path` is still to be confirmed.
    public func holds(_ path: String) -> Bool { unconfirmed.contains(path) }

    /// Checks one segment: its first `bytes` (the whole file, as recorded) against its checksum.
    /// Pure but for reading `fd`.
    public static func check(_ segment: Segment, fd: Int32) -> Outcome {
        guard fd >= 0 else { return .damaged(segment, found: nil, why: "cannot be opened") }
        var st = stat()
        if fstat(fd, &st) == 0, Int(st.st_size) != segment.bytes {
            return .damaged(segment, found: nil, why: "it is \(st.st_size) bytes where it was sealed at \(segment.bytes) bytes")
        }
        do {
            let found = try JournalStream.checksum(fd: fd, length: segment.bytes, path: segment.path)
            return found == segment.crc32c
                ? .confirmed(path: segment.path) : .damaged(segment, found: found, why: "changed on disk since it was sealed")
        } catch {
            return .damaged(segment, found: nil, why: "\(error)")
        }
    }

    /// Starts the thread (once, after READY); each outcome comes back to `reactor`'s loop.
    public func start(reactor: Reactor) {
        guard inbox == nil, !jobs.isEmpty else { return }
        do {
            inbox = try ReactorInbox<Outcome>(reactor: reactor) { [weak self] outcome in self?.finish(outcome) }
        } catch {
            // No pipe for the answer: checked on the loop instead (it still never sends an unchecked byte).
            for (segment, fd) in jobs { finish(Self.check(segment, fd: fd)) }
            return
        }
        let (work, inbox) = (jobs.map { ($0.0, $0.1) }, inbox!)
        jobs = []
        let thread = Thread {
            for (segment, fd) in work {
                let outcome = Self.check(segment, fd: fd)
                if fd >= 0 { close(fd) }
                inbox.post(outcome)
            }
        }
        thread.name = "segment-audit"
        thread.start()
    }

    /// On the loop: one segment's outcome.
    func finish(_ outcome: Outcome) {
        unconfirmed.removeAll { $0 == outcome.path }
        if outcome.damage != nil { damaged.append(outcome) }
        onOutcome?(outcome)
        if outcome.damage != nil { onDamaged?(outcome) }
    }
}
