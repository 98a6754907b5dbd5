import Platform
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// `onIdle` runs once the handlers are done and nothing more is ready, unless `idleWanted` says
/// there is nothing to do then: the loop does not even look (one system call less per wakeup).
@Suite struct ReactorIdleTests {
    /// Runs a loop that reads one byte from a pipe, then stops on a timer; returns how many times
    /// `onIdle` ran and how many times `idleWanted` was asked.
    func idles(wanted: Bool?) throws -> (idles: Int, asked: Int) {
        var fds: [Int32] = [-1, -1]
        try #require(pipe(&fds) == 0)
        defer {
            close(fds[0])
            close(fds[1])
        }
        let loop = try Reactor()
        var idles = 0
        var asked = 0
        var read = 0
        loop.onIdle = { idles += 1 }
        if let wanted {
            loop.idleWanted = {
                asked += 1
                return wanted
            }
        }
        loop.watch(fds[0]) { _ in
            var byte: UInt8 = 0
            if Glibc.read(fds[0], &byte, 1) == 1 { read += 1 }
        }
        var one: UInt8 = 1
        #expect(write(fds[1], &one, 1) == 1)
        loop.schedule(afterSeconds: 0.2) { loop.stop() }
        loop.run()
        loop.unwatch(fds[0])
        #expect(read == 1, "the handler read the byte")
        return (idles, asked)
    }

    @Test func onIdleRunsAfterTheHandlersWhenWantedOrNotAsked() throws {
        #expect(try idles(wanted: nil).idles == 1)
        let wanted = try idles(wanted: true)
        #expect(wanted.idles == 1 && wanted.asked >= 1)
    }

    @Test func onIdleDoesNotRunWhenNotWanted() throws {
        let unwanted = try idles(wanted: false)
        #expect(unwanted.idles == 0 && unwanted.asked >= 1)
    }
}
