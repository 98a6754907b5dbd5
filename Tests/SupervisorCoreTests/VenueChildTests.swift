import Platform
import RobotConfig
import Testing

@testable import SupervisorCore

/// The paper venue as the supervisor's child, without processes: whether it runs, its launch, and
/// its order against the markets (first up, last down).
@Suite struct VenueChildTests {
    func config(_ venue: String) throws -> Configuration {
        let text = """
            {"markets": {"ES": {"execution": "MES", "streams": {"ES1": {"instrument": "ES"}}}}, "instrument_map": {"MES": "ES"},
             "supervisor": {"watchdog_seconds": 3}, "venue": \(venue)}
            """
        return try ConfigLoader.parse(Array(text.utf8), source: "/etc/robot.json", home: "/srv/robot")
    }

    @Test func theLaunchIsPaperVenueBesideTheSupervisorOnTheSameConfiguration() throws {
        let c = try config(#"{"kind": "paper"}"#)
        let launch = VenueChild.launch(
            config: c, configFile: "/etc/robot.json", directory: "/opt/bin", notifySocket: "/run/n.sock", supervisorPid: 42,
            inherited: ["NOTIFY_SOCKET": "/systemd", "WATCHDOG_PID": "1", "PATH": "/bin", "ROBOT_CONFIG": "/elsewhere.json"])
        #expect(launch.argv == ["/opt/bin/paper-venue", "run", "--config", "/etc/robot.json", "--home", "/srv/robot"])
        #expect(launch.environment.contains("NOTIFY_SOCKET=/run/n.sock"))
        #expect(launch.environment.contains("WATCHDOG_USEC=3000000"))
        #expect(launch.environment.contains("ROBOT_SUPERVISOR_PID=42"))
        #expect(launch.environment.contains("ROBOT_CONFIG=/etc/robot.json"))
        #expect(launch.environment.contains("ROBOT_HOME=/srv/robot"))
        #expect(launch.environment.contains("PATH=/bin"))
        #expect(!launch.environment.contains { $0.hasPrefix("WATCHDOG_PID=") })
        #expect(launch.environment.filter { $0.hasPrefix("NOTIFY_SOCKET=") }.count == 1)
        let embedded = VenueChild.launch(
            config: c, configFile: nil, directory: "/opt/bin", notifySocket: "/n", supervisorPid: 1, inherited: [:])
        #expect(embedded.argv == ["/opt/bin/paper-venue", "run", "--home", "/srv/robot"])
    }

    @Test func theSupervisorRunsItOnlyWhenAMarketUsesPaperAndNotOptedOut() throws {
        #expect(try config(#"{"kind": "paper"}"#).venue.supervisedBySupervisor)
        #expect(try config(#"{"markets": {"ES": "paper"}}"#).venue.supervisedBySupervisor)
        #expect(try !config(#"{"kind": "paper", "supervised": false}"#).venue.supervisedBySupervisor)
        #expect(try !config(#"{"kind": "sim"}"#).venue.supervisedBySupervisor)
    }

    /// `order.startMarkets` outside the macro (which cannot call a mutating method).
    func start(_ order: inout VenueChild, _ venue: SupervisionState, shuttingDown: Bool = false) -> Bool {
        order.startMarkets(venue: venue, shuttingDown: shuttingDown)
    }

    @Test func theMarketsStartOnceWhenTheVenueHasLeftStarting() {
        var order = VenueChild(supervised: true)
        #expect(!order.marketsStarted)
        #expect(!start(&order, .stopped), "not before the venue was started")
        #expect(!start(&order, .starting), "not while it is starting")
        #expect(start(&order, .running))
        #expect(order.marketsStarted)
        #expect(!start(&order, .running), "once only")
        #expect(!start(&order, .starting), "a venue restart does not hold them again")
    }

    @Test(arguments: [SupervisionState.backoff, .fatal])
    func aVenueThatFailedToStartStillLetsTheMarketsStart(state: SupervisionState) {
        var order = VenueChild(supervised: true)
        #expect(start(&order, state))
    }

    @Test func noMarketStartsDuringAShutdownAndUnsupervisedMarketsStartAtOnce() {
        var order = VenueChild(supervised: true)
        #expect(!start(&order, .running, shuttingDown: true))
        let unsupervised = VenueChild(supervised: false)
        #expect(unsupervised.marketsStarted)
    }

    @Test func theVenueStopsAfterTheLastWorker() {
        #expect(!VenueChild.stopVenue(shuttingDown: false, workersLeft: 0), "only in a shutdown")
        #expect(!VenueChild.stopVenue(shuttingDown: true, workersLeft: 2))
        #expect(!VenueChild.stopVenue(shuttingDown: true, workersLeft: 1))
        #expect(VenueChild.stopVenue(shuttingDown: true, workersLeft: 0))
    }
}
