import Foundation
import Platform
import Testing

@testable import WatchdogCore

/// The snapshot writer's thread: it writes what the loop hands it and reports back on the loop.
@Suite struct SnapshotWriterTests {
    /// Starts a writer on a fresh reactor, writes `data` and runs the loop until `done` reports.
    func write(_ data: Data, to file: SnapshotFile) throws -> (result: Result<Void, SystemError>, onLoopThread: Bool) {
        let reactor = try Reactor()
        let loopThread = pthread_self()
        var outcome: (Result<Void, SystemError>, Bool)?
        let writer = try SnapshotWriter(file: file, reactor: reactor) { result in
            outcome = (result, pthread_equal(pthread_self(), loopThread) != 0)
            reactor.stop()
        }
        writer.start(Array(data))
        #expect(writer.isBusy)
        reactor.schedule(afterSeconds: 10) { reactor.stop() }
        reactor.run()
        #expect(!writer.isBusy)
        writer.finish()
        return try #require(outcome, "the writer did not report within 10 s")
    }

    @Test func whatTheLoopHandsOverIsOnDiskWhenItReportsSuccess() throws {
        var template = Array("/tmp/wdwriter.XXXXXX".utf8CString)
        let dir = String(cString: try #require(mkdtemp(&template)))
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try FileManager.default.createDirectory(atPath: dir + "/watchdog", withIntermediateDirectories: true)
        let file = SnapshotFile(stateDir: dir)
        let state = WatchdogState(configuredMarkets: ["ES"], now: WatchdogStateTests.start)
        let data = try file.encode(state, at: WatchdogStateTests.start)

        let (result, onLoopThread) = try write(data, to: file)
        #expect((try? result.get()) != nil, "\(result)")
        #expect(onLoopThread, "done must run on the loop's thread")
        #expect(FileManager.default.contents(atPath: file.path) == data)
        #expect(try file.load()?.markets.keys.sorted() == ["ES"], "the file is a snapshot of the state")
        #expect(!FileManager.default.fileExists(atPath: file.path + ".tmp"))
    }

    @Test func aWriteThatFailsIsReportedAndLeavesThePreviousSnapshot() throws {
        var template = Array("/tmp/wdwriter.XXXXXX".utf8CString)
        let dir = String(cString: try #require(mkdtemp(&template)))
        defer { try? FileManager.default.removeItem(atPath: dir) }
        // No watchdog/ folder: the temporary file cannot be created.
        let file = SnapshotFile(stateDir: dir)
        let (result, _) = try write(Data("{}".utf8), to: file)
        guard case .failure(let error) = result else {
            Issue.record("a write into a missing folder succeeded")
            return
        }
        #expect(error.code == ENOENT, "\(error)")
        #expect(!FileManager.default.fileExists(atPath: file.path))
    }
}
