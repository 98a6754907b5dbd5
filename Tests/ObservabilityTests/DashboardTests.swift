import Synchronization
import Testing

@testable import Observability

/// The dashboard's pure parts: routing with methods and the bearer token, the bounded stream
/// outbox, the feed's render-once cache.
@Suite struct DashboardRouteTests {
    @Test(arguments: [
        ("GET", "/", DashboardRoute.page), ("GET", "/index.html", .page), ("GET", "/dashboard.js", .script),
        ("GET", "/dashboard.css", .stylesheet), ("GET", "/api/status", .status), ("GET", "/api/status?x=1", .status),
        ("GET", "/api/health", .health), ("GET", "/api/stream", .stream), ("GET", "/api/supervisor", .supervisor),
        ("POST", "/api/status", .methodNotAllowed), ("HEAD", "/", .methodNotAllowed), ("DELETE", "/api/stream", .methodNotAllowed),
        ("PUT", "/nothing", .notFound), ("GET", "/metrics", .notFound), ("GET", "/../etc/passwd", .notFound),
    ])
    func routes(method: String, uri: String, expected: DashboardRoute) {
        #expect(DashboardRoute.decide(method: method, uri: uri, authorization: nil, token: nil) == expected)
    }

    @Test func aTokenIsRequiredWhenConfigured() {
        let token = "0123456789abcdef"
        #expect(DashboardRoute.decide(method: "GET", uri: "/", authorization: nil, token: token) == .unauthorized)
        #expect(DashboardRoute.decide(method: "GET", uri: "/", authorization: "Bearer 0123456789abcdeX", token: token) == .unauthorized)
        #expect(DashboardRoute.decide(method: "GET", uri: "/", authorization: "Bearer 0123456789abcde", token: token) == .unauthorized)
        #expect(DashboardRoute.decide(method: "GET", uri: "/", authorization: "Bearer 0123456789abcdef0", token: token) == .unauthorized)
        #expect(DashboardRoute.decide(method: "GET", uri: "/", authorization: "Basic 0123456789abcdef", token: token) == .unauthorized)
        #expect(DashboardRoute.decide(method: "POST", uri: "/", authorization: nil, token: token) == .unauthorized)
        #expect(DashboardRoute.decide(method: "GET", uri: "/", authorization: "Bearer 0123456789abcdef", token: token) == .page)
        #expect(DashboardRoute.decide(method: "GET", uri: "/", authorization: "bearer 0123456789abcdef", token: token) == .page)
    }
}

@Suite struct StreamOutboxTests {
    @Test func sendsEachVersionOnceWhileWritable() {
        var o = StreamOutbox()
        let r1 = o.offer(1, writable: true)
        #expect(r1 == .send(1))
        let r2 = o.offer(1, writable: true)
        #expect(r2 == .none)
        let r3 = o.offer(2, writable: true)
        #expect(r3 == .send(2))
        #expect(o.dropped == 0 && !o.owed)
    }

    @Test func dropsAndCountsWhileNotWritableThenSendsOnlyTheLatest() {
        var o = StreamOutbox()
        let r4 = o.offer(1, writable: true)
        #expect(r4 == .send(1))
        for v in 2...50 as ClosedRange<UInt64> {
            let r5 = o.offer(v, writable: false)
            #expect(r5 == .drop)
        }
        #expect(o.dropped == 49 && o.owed)
        let r6 = o.drained(latest: 50)
        #expect(r6 == .send(50))
        #expect(!o.owed && o.sentVersion == 50)
        let r7 = o.drained(latest: 50)
        #expect(r7 == .none)
        let r8 = o.offer(50, writable: true)
        #expect(r8 == .none)
    }

    @Test func drainingWithNothingOwedSendsNothing() {
        var o = StreamOutbox()
        let r9 = o.drained(latest: 7)
        #expect(r9 == .none)
        let r10 = o.offer(7, writable: false)
        #expect(r10 == .drop)
        let r11 = o.offer(7, writable: true)
        #expect(r11 == .send(7))
        let r12 = o.drained(latest: 7)
        #expect(r12 == .none)
    }
}

@Suite struct StatusFeedTests {
    @Test func rendersEachVersionOnceAndReportsItsAge() {
        let feed = StatusFeed()
        #expect(feed.latest() == nil && feed.publishAge() == nil)
        let renders = Counter()
        feed.publish {
            renders.bump()
            return Array("one".utf8)
        }
        #expect(feed.latest()?.bytes == Array("one".utf8))
        #expect(feed.latest()?.version == 1)
        #expect(renders.value == 1)
        feed.publish {
            renders.bump()
            return Array("two".utf8)
        }
        #expect(feed.latest()?.bytes == Array("two".utf8) && feed.latest()?.version == 2)
        #expect(renders.value == 2)
        #expect((feed.publishAge() ?? 99) < 5)
    }

    @Test func theEmbeddedPageNeverUsesInnerHTML() {
        let script = String(decoding: DashboardPage.script, as: UTF8.self)
        #expect(
            !script.contains("innerHTML") && !script.contains("outerHTML") && !script.contains("insertAdjacentHTML")
                && !script.contains("document.write"))
        #expect(script.contains("textContent"))
        let html = String(decoding: DashboardPage.html, as: UTF8.self)
        #expect(!html.contains("<script>"), "no inline script: the Content-Security-Policy forbids it")
    }
}

final class Counter: Sendable {
    private let n = Atomic<Int>(0)
    func bump() { n.add(1, ordering: .relaxed) }
    var value: Int { n.load(ordering: .relaxed) }
}
