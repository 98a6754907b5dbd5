import Foundation
import Platform
import Testing
import Wire

/// The supervisor speaks sd_notify upstream like any service (issue 4, test 8).
@Suite struct SupervisorNotifyTests {
    @Test func readyComesOnlyOnceEveryMarketIsUpWithStatusAndWatchdogPings() throws {
        let home = try TestHome()
        defer { home.cleanup() }
        try home.writeConfig(TestConfig().supervised())
        let listener = try NotifyListener(path: home.path + "/upstream.sock")
        let supervisor = try home.startSupervisor(environment: ["NOTIFY_SOCKET": listener.path, "WATCHDOG_USEC": "400000"])
        var acquiredAtReady: [String: Int] = [:]
        try waitFor("READY=1 from the supervisor", seen: { "\(listener.assignments.map(\.line))" }) { () -> Bool? in
            listener.poll()
            guard listener.assignments.contains(where: { $0.line == "READY=1" }) else { return nil }
            if acquiredAtReady.isEmpty {
                for m in ["CL", "ES", "NQ"] { acquiredAtReady[m] = home.events(m, type: .lockAcquired).count }
            }
            return true
        }
        #expect(acquiredAtReady == ["CL": 1, "ES": 1, "NQ": 1], "every market held its lock when READY=1 came")
        let lines = listener.assignments.map(\.line)
        let ready = try #require(lines.firstIndex(of: "READY=1"))
        #expect(lines.contains("STATUS=3/3 running"), "\(lines)")
        #expect(!lines[..<ready].contains("STATUS=3/3 running"), "no 3/3 before READY: \(lines)")
        #expect(lines.filter { $0 == "READY=1" }.count == 1)
        try waitFor("three WATCHDOG=1 pings", seen: { "\(listener.assignments.map(\.line))" }) { () -> Bool? in
            listener.poll()
            return listener.assignments.filter { $0.line == "WATCHDOG=1" }.count >= 3 ? true : nil
        }
        // A datagram from a process that is no worker is counted and ignored.
        let stranger = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue), 0)
        defer { close(stranger) }
        let sent = UnixSocket.withAddress(home.socketDir + "/supervisor-notify.sock") {
            sendto(stranger, "STOPPING=1\nWATCHDOG=trigger", 27, 0, $0, $1)
        }
        #expect(sent == 27)
        let counted = try waitFor("the stranger's datagram to be counted") { () -> JSONObject? in
            guard let s = try home.supervisorStatus(), s["unknown_notify_datagrams"]?.intValue == 1 else { return nil }
            return s
        }
        #expect(counted.market("ES")?["state"]?.stringValue == "RUNNING")
        #expect(supervisor.stderr.contains("which is none of the workers; ignored"), "\(supervisor.stderr)")

        // A market going down shows in STATUS=.
        let stop = try home.supervisor(["stop", "CL"])
        #expect(stop.status == 0)
        try waitFor("STATUS with CL STOPPED", seen: { "\(listener.assignments.map(\.line))" }) { () -> Bool? in
            listener.poll()
            return listener.assignments.contains { $0.line == "STATUS=2/3 running; CL STOPPED" } ? true : nil
        }
        supervisor.signal(SIGTERM)
        #expect(try supervisor.waitForExit() == 0)
        listener.poll()
        #expect(listener.assignments.contains { $0.line == "STOPPING=1" })
    }
}
