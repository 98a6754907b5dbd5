import Guard
import Platform
import TestSupport
import Testing
import Wire

#if canImport(Glibc)
import Glibc
#endif

/// The host-wide guard: one executor per (account, market) whatever the home folder; fences that
/// never repeat across homes; a guard folder that is never followed through a symlink nor used
/// when someone else can write it. In-process: a second `open` + `flock` of the same file in
/// one process is refused like another process's.
@Suite("HostMarketGuard")
struct HostMarketGuardTests {
    let es = CanonicalMarket("ES")!
    let alice = TradingAccount("alice")!
    let bob = TradingAccount("bob")!

    struct Host {
        let root: TemporaryFolder
        var guardFolder: String { root.path + "/guard" }
        init() throws { root = try TemporaryFolder() }
        func home(_ name: String) throws -> HostMarketGuard {
            let lockDir = root.path + "/" + name + "/runtime_locks"
            try Directories.make(lockDir)
            return HostMarketGuard(lockFolder: lockDir, hostFolder: guardFolder, homeName: root.path + "/" + name)
        }
    }

    func acquire(_ g: HostMarketGuard, _ account: TradingAccount, run: String, sourceLocation: SourceLocation = #_sourceLocation) throws
        -> any HeldMarketGuard
    {
        switch try g.acquire(account: account, es, runID: run, host: "test-host") {
        case .acquired(let held, _): return held
        case .alreadyActive(let holder):
            Issue.record("expected to acquire, refused: \(holder.detail)", sourceLocation: sourceLocation)
            throw MarketGuardFailure.unstable(path: g.place(of: es))
        }
    }

    @Test("two homes, one account: the second is refused, naming the holder's pid and home; another account runs")
    func twoHomesOneAccount() throws {
        let host = try Host()
        defer { host.root.remove() }
        let a = try host.home("a")
        let b = try host.home("b")
        let held = try acquire(a, alice, run: "ES-run-1")
        guard case .alreadyActive(let holder) = try b.acquire(account: alice, es, runID: "ES-run-2", host: "test-host") else {
            Issue.record("a second executor of alice/ES was let in from another home")
            return
        }
        #expect(holder.record?.pid == getpid())
        #expect(holder.record?.home == host.root.path + "/a")
        #expect(holder.detail.contains("account alice, market ES is held host-wide"), "\(holder.detail)")
        #expect(holder.detail.contains("home \(host.root.path)/a"), "\(holder.detail)")
        #expect(a.holds(pid: getpid(), account: alice, market: es))
        #expect(!b.holds(pid: getpid(), account: alice, market: es))
        #expect(b.currentHolder(account: alice, of: es)?.record?.home == host.root.path + "/a")
        // The refused home keeps no lock: its lock file is free for the market's next run there.
        #expect(b.home.currentHolder(of: es) == nil)
        let other = try acquire(b, bob, run: "ES-run-3")
        try other.release()
        try held.release()
        #expect(a.currentHolder(account: alice, of: es) == nil)
    }

    @Test("fences go up across homes: a home never hands out a fence the host has handed out")
    func fencesAcrossHomes() throws {
        let host = try Host()
        defer { host.root.remove() }
        let a = try host.home("a")
        let b = try host.home("b")
        var fences: [Int64] = []
        for g in [a, b, a, b, b, a] {
            let held = try acquire(g, alice, run: "ES-run-\(fences.count)")
            fences.append(held.fence)
            try held.release()
        }
        #expect(fences == [1, 2, 3, 4, 5, 6])
        // A home whose own fence is ahead (it ran before the host-wide guard existed) raises the host's.
        let c = try host.home("c")
        let old = #"{"fence":40,"run_id":"ES-old","pid":1,"host":"h","lock_device":0,"lock_inode":0}"# + "\n"
        try FileIO.replaceAtomically(c.home.fenceFile(es), Array(old.utf8))
        let ahead = try acquire(c, alice, run: "ES-run-c")
        #expect(ahead.fence == 41)
        try ahead.release()
        let next = try acquire(a, alice, run: "ES-run-a")
        #expect(next.fence == 42)
        try next.release()
    }

    @Test("a symlinked account folder, another user's file or a folder others can write is refused, not used")
    func untrustedFolders() throws {
        let host = try Host()
        defer { host.root.remove() }
        let a = try host.home("a")
        try Directories.make(host.guardFolder, mode: 0o755)
        let elsewhere = host.root.path + "/elsewhere"
        try Directories.make(elsewhere)
        #expect(symlink(elsewhere, host.guardFolder + "/alice") == 0)
        #expect(throws: MarketGuardFailure.self) { try a.acquire(account: alice, es, runID: "ES-run-1", host: "h") }
        // A symlink in place of the lock file.
        try Directories.make(host.guardFolder + "/bob", mode: 0o755)
        #expect(symlink(elsewhere + "/x", host.guardFolder + "/bob/canonical_ES.lock") == 0)
        #expect(throws: MarketGuardFailure.self) { try a.acquire(account: bob, es, runID: "ES-run-2", host: "h") }
        #expect(access(elsewhere + "/x", F_OK) != 0, "the symlink was followed")
        // A guard folder anyone can write without the sticky bit.
        #expect(chmod(host.guardFolder, 0o777) == 0)
        let carol = TradingAccount("carol")!
        #expect(throws: MarketGuardFailure.self) { try a.acquire(account: carol, es, runID: "ES-run-3", host: "h") }
        #expect(chmod(host.guardFolder, 0o1777) == 0)
        let held = try acquire(a, carol, run: "ES-run-4")
        try held.release()
    }

    @Test("account names: short ASCII, no path characters")
    func accountNames() {
        #expect(TradingAccount("acct-1_A") != nil)
        #expect(TradingAccount(String(repeating: "a", count: 32)) != nil)
        for bad in ["", ".", "..", "a/b", "-a", "_a", "a b", "é", String(repeating: "a", count: 33)] {
            #expect(TradingAccount(bad) == nil, "\(bad)")
        }
    }

    @Test("a local folder is not refused by the file-system check")
    func localFileSystem() throws {
        let folder = try TemporaryFolder()
        defer { folder.remove() }
        #expect(try LockFolderFileSystem.untrustedKind(of: folder.path) == nil)
        try LockFolderFileSystem.check(folder.path, allowed: false)
    }
}
