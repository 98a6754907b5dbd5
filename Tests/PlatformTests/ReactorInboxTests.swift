import Foundation
import Platform
import Testing

/// Messages posted from other threads reach the loop's thread, all of them, in each poster's order.
@Suite struct ReactorInboxTests {
    @Test func messagesFromFourThreadsAllArriveOnTheLoopInEachThreadsOrder() throws {
        let reactor = try Reactor()
        let loopThread = pthread_self()
        var received: [[Int]] = Array(repeating: [], count: 4)
        var offLoop = 0
        let perThread = 2_000
        let inbox = try ReactorInbox<(Int, Int)>(reactor: reactor) { message in
            if pthread_equal(pthread_self(), loopThread) == 0 { offLoop += 1 }
            received[message.0].append(message.1)
            if received.allSatisfy({ $0.count == perThread }) { reactor.stop() }
        }
        var timedOut = false
        reactor.schedule(afterSeconds: 20) {
            timedOut = true
            reactor.stop()
        }
        for t in 0..<4 {
            Thread.detachNewThread {
                for i in 0..<perThread { inbox.post((t, i)) }
            }
        }
        reactor.run()
        #expect(!timedOut, "received \(received.map(\.count)) of \(perThread) each")
        #expect(offLoop == 0)
        for t in 0..<4 { #expect(received[t] == Array(0..<perThread), "thread \(t) out of order") }
    }
}
