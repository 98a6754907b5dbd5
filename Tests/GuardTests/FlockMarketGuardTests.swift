import Guard
import Platform
import TestSupport
import Testing
import Wire

#if canImport(Glibc)
import Glibc
#endif

@Suite("FlockMarketGuard")
struct FlockMarketGuardTests {
    /// A guard over a fresh lock folder; the worker's start-up sees it only as `any MarketGuard`.
    struct Place {
        let folder: TemporaryFolder
        let flock: FlockMarketGuard
        var marketGuard: any MarketGuard { flock }

        init() throws {
            folder = try TemporaryFolder()
            flock = FlockMarketGuard(folder: folder.path)
        }

        func acquired(_ runID: String, sourceLocation: SourceLocation = #_sourceLocation) throws -> any HeldMarketGuard {
            switch try marketGuard.acquire(account: .default, es, runID: runID, host: "test-host") {
            case .acquired(let held, _): return held
            case .alreadyActive(let holder):
                Issue.record("expected to acquire, refused: \(holder.detail)", sourceLocation: sourceLocation)
                throw MarketGuardFailure.unstable(path: flock.lockFile(es))
            }
        }
    }

    @Test("the lock and fence files are named after the market in the lock folder")
    func layout() throws {
        let place = try Place()
        defer { place.folder.remove() }
        let nq = try #require(CanonicalMarket("NQ"))
        #expect(place.flock.lockFile(nq) == place.folder.path + "/canonical_NQ.lock")
        #expect(place.flock.fenceFile(nq) == place.folder.path + "/canonical_NQ.fence")
        #expect(place.marketGuard.place(of: nq) == place.flock.lockFile(nq))
    }

    @Test("holds(pid:market:) is true for the holder only, and only while it holds the lock")
    func holds() throws {
        let place = try Place()
        defer { place.folder.remove() }
        let nq = try #require(CanonicalMarket("NQ"))
        #expect(!place.marketGuard.holds(pid: getpid(), account: .default, market: es))
        let held = try place.acquired("ES-run-1")
        #expect(held.market == es)
        #expect(held.fence == 1)
        #expect(held.path == place.flock.lockFile(es))
        #expect(place.marketGuard.holds(pid: getpid(), account: .default, market: es))
        #expect(!place.marketGuard.holds(pid: getppid(), account: .default, market: es))
        #expect(!place.marketGuard.holds(pid: getpid(), account: .default, market: nq))
        try held.release()
        #expect(!place.marketGuard.holds(pid: getpid(), account: .default, market: es))
    }

    @Test("a holder whose lock file was deleted or replaced still holds, by the inode its fence file records")
    func holdsAfterReplace() throws {
        let place = try Place()
        defer { place.folder.remove() }
        let held = try place.acquired("ES-run-1")
        #expect(unlink(place.flock.lockFile(es)) == 0)
        try place.folder.write("canonical_ES.lock", [])
        #expect(place.marketGuard.holds(pid: getpid(), account: .default, market: es))
        let holder = try #require(place.marketGuard.currentHolder(account: .default, of: es))
        #expect(holder.record?.runID == "ES-run-1")
        #expect(holder.kernelPIDs == [getpid()])
        withExtendedLifetime(held) {}
    }

    @Test("currentHolder names the live holder from its record, and nobody once released")
    func currentHolder() throws {
        let place = try Place()
        defer { place.folder.remove() }
        #expect(place.marketGuard.currentHolder(account: .default, of: es) == nil)
        let held = try place.acquired("ES-run-1")
        let holder = try #require(place.marketGuard.currentHolder(account: .default, of: es))
        #expect(holder.record == held.record)
        #expect(holder.kernelPIDs == [getpid()])
        #expect(holder.detail == "the lock record names pid \(getpid()), which holds the lock")
        try held.release()
        #expect(place.marketGuard.currentHolder(account: .default, of: es) == nil)
    }

    @Test("a second acquisition through the protocol is refused, naming the holder the kernel confirms")
    func refusal() throws {
        let place = try Place()
        defer { place.folder.remove() }
        let held = try place.acquired("ES-run-1")
        guard case .alreadyActive(let holder) = try place.marketGuard.acquire(account: .default, es, runID: "ES-run-2", host: "test-host")
        else {
            Issue.record("the second acquisition was not refused")
            return
        }
        #expect(holder.record == held.record)
        #expect(place.marketGuard.holds(pid: try #require(holder.record?.pid), account: .default, market: es))
    }
}
