import Platform
import Testing

@testable import WatchdogCore

/// `GroupCommit` against the flags it replaced: the watchdog's former save logic (`dirty`,
/// `eventsWaiting`, `saveFailing`, `saveWhenWritten`, `inFlight`, `saveDue`, ...), kept here as a
/// reference model, and the pure type are driven through the same random histories; they must
/// encode, ack, fail, report and schedule alike at every step.
@Suite struct GroupCommitEquivalenceTests {
    /// What either side did, as the shell would see it.
    enum Output: Equatable {
        case encode
        case acknowledge(Int)
        case failed(owed: Int?)
        case slowWrite(Int64)
        case slowWriteFinished(Int64)
    }

    /// The former `WatchdogServer` save logic, line for line, with its clock passed in.
    struct Reference {
        let interval: Int64
        let lazy: Int64
        var dirty = false
        var eventsWaiting = false
        var saveFailing = false
        var lastSaveStarted: Int64 = 0
        var lastEncodeTook: Int64 = 0
        var inFlight: Int?
        var saveWhenWritten = false
        var slowWriteLogged = false
        var saveDue: Int64?
        var outputs: [Output] = []

        mutating func markDirty(lazily: Bool, now: Int64) {
            dirty = true
            if !lazily { eventsWaiting = true }
            scheduleSave(at: now + (lazily ? lazy : interval))
        }

        mutating func scheduleSave(at due: Int64) {
            if let scheduled = saveDue, scheduled <= due { return }
            saveDue = due
        }

        mutating func saveOnPause(now: Int64) -> Bool {
            guard eventsWaiting, !saveFailing else { return false }
            return save(now: now)
        }

        /// True when it asks for an encoding.
        mutating func save(now: Int64) -> Bool {
            saveDue = nil
            guard dirty else { return false }
            let allowed = lastSaveStarted + 10 * lastEncodeTook
            guard now >= allowed else {
                scheduleSave(at: allowed)
                return false
            }
            guard inFlight == nil else {
                saveWhenWritten = true
                let inFlightNanos = now - lastSaveStarted
                if !slowWriteLogged, inFlightNanos > 5 * 1_000_000_000 {
                    slowWriteLogged = true
                    outputs.append(.slowWrite(inFlightNanos / 1_000_000_000))
                }
                return false
            }
            saveWhenWritten = false
            outputs.append(.encode)
            return true
        }

        mutating func encoded(_ held: Int, started: Int64, took: Int64) {
            lastSaveStarted = started
            lastEncodeTook = took
            inFlight = held
            dirty = false
            eventsWaiting = false
        }

        mutating func written(ok: Bool, now: Int64) -> Bool {
            guard let job = inFlight else { return false }
            inFlight = nil
            if slowWriteLogged {
                slowWriteLogged = false
                outputs.append(.slowWriteFinished((now - lastSaveStarted) / 1_000_000))
            }
            if ok {
                saveFailing = false
                outputs.append(.acknowledge(job))
                if saveWhenWritten { return save(now: now) }
                return false
            }
            saveFailed(owed: job, now: now)
            return false
        }

        mutating func saveFailed(owed: Int?, now: Int64) {
            outputs.append(.failed(owed: owed))
            saveFailing = true
            dirty = true
            eventsWaiting = true
            scheduleSave(at: now + 1_000_000_000)
        }
    }

    /// The pure type's actions as outputs, and the shell's one timer as the `.timer` actions arm
    /// it; true when it asks for an encoding.
    static func record(_ actions: [GroupCommit<Int>.Action], into outputs: inout [Output], timer: inout Int64?) -> Bool {
        var encode = false
        for action in actions {
            switch action {
            case .timer(let at): timer = at
            case .encode:
                outputs.append(.encode)
                encode = true
            case .acknowledge(let h): outputs.append(.acknowledge(h))
            case .failed(let owed): outputs.append(.failed(owed: owed))
            case .slowWrite(let s): outputs.append(.slowWrite(s))
            case .slowWriteFinished(let ms): outputs.append(.slowWriteFinished(ms))
            }
        }
        return encode
    }

    @Test(arguments: [0.0, 0.05, 0.5, 3.0])
    func everyHistoryGoesAsWithTheFormerFlags(intervalSeconds: Double) {
        var coverage: Set<String> = []
        for seed in UInt64(1)...200 {
            var random = SplitMix64(seed: seed &* 7919 &+ UInt64(intervalSeconds * 100))
            var model = Reference(
                interval: Int64(intervalSeconds * 1e9), lazy: Int64(max(GroupCommit<Int>.Settings.lazySeconds, intervalSeconds) * 1e9))
            var commit = GroupCommit<Int>(settings: .init(intervalSeconds: intervalSeconds))
            var outputs: [Output] = []
            var now: Int64 = 1_000_000_000
            var nextHeld = 1
            var writeEnds: Int64?
            var timerArmed: Int64?
            var seen: Set<String> = []

            func encodeBoth(_ modelAsked: Bool, _ commitAsked: Bool) {
                #expect(modelAsked == commitAsked, "seed \(seed): asked to encode")
                guard modelAsked, commitAsked else { return }
                if Int.random(in: 0..<40, using: &random) == 0 {
                    model.saveFailed(owed: nil, now: now)
                    _ = Self.record(commit.encodeFailed(now: now), into: &outputs, timer: &timerArmed)
                    return
                }
                let took = [Int64(20_000), 1_000_000, 30_000_000].randomElement(using: &random)!
                model.encoded(nextHeld, started: now, took: took)
                commit.began(nextHeld, at: now, took: took)
                nextHeld += 1
                now += took
                writeEnds = now + [Int64(500_000), 40_000_000, 6_500_000_000].randomElement(using: &random)!
            }

            for step in 0..<300 {
                now += [Int64(0), 100_000, 3_000_000, 60_000_000, 900_000_000].randomElement(using: &random)!
                switch Int.random(in: 0..<10, using: &random) {
                case 0..<4:
                    let lazily = Bool.random(using: &random)
                    model.markDirty(lazily: lazily, now: now)
                    _ = Self.record(commit.markDirty(lazily: lazily, now: now), into: &outputs, timer: &timerArmed)
                case 4..<6:
                    encodeBoth(model.saveOnPause(now: now), Self.record(commit.idle(now: now), into: &outputs, timer: &timerArmed))
                default:
                    if let due = model.saveDue, due <= now {
                        timerArmed = nil // it fired
                        encodeBoth(model.save(now: now), Self.record(commit.timerFired(now: now), into: &outputs, timer: &timerArmed))
                    }
                }
                if let ends = writeEnds, ends <= now {
                    writeEnds = nil
                    let ok = Int.random(in: 0..<6, using: &random) != 0
                    let asked = model.written(ok: ok, now: now)
                    let actions = ok ? commit.written(now: now) : commit.writeFailed(now: now)
                    encodeBoth(asked, Self.record(actions, into: &outputs, timer: &timerArmed))
                }
                // The timer the actions armed is the one the former code had (`saveDue`).
                #expect(model.outputs == outputs, "seed \(seed) step \(step)")
                #expect(model.saveDue == timerArmed, "seed \(seed) step \(step): due")
                if model.outputs != outputs || model.saveDue != timerArmed { return }
            }
            for o in outputs { seen.insert("\(o)".prefix(while: { $0 != "(" }).description) }
            coverage.formUnion(seen)
        }
        // The histories reach every kind of outcome.
        #expect(coverage.isSuperset(of: ["encode", "acknowledge", "failed", "slowWrite", "slowWriteFinished"]), "\(coverage)")
    }
}
