import Foundation
import Testing
import Wire

/// The monitoring files in contrib/: the Prometheus alert rules pass `promtool check rules` and
/// their unit tests (`promtool test rules`), and every metric the rules and the Grafana dashboard
/// name is one docs/METRICS.md lists, which in turn lists exactly the names the code exports
/// (Sources/Observability/MetricName.swift).
@Suite struct ContribFilesTests {
    /// The repository: the first folder above this file that holds Package.swift.
    static var repository: String {
        var url = URL(fileURLWithPath: #filePath)
        while url.path != "/", !FileManager.default.fileExists(atPath: url.appendingPathComponent("Package.swift").path) {
            url = url.deletingLastPathComponent()
        }
        return url.path
    }
    static let promtool = "/usr/bin/promtool"

    static func read(_ relative: String) throws -> String {
        try String(contentsOfFile: repository + "/" + relative, encoding: .utf8)
    }

    /// Every `robot_…` name in `text`.
    static func metricNames(_ text: String) -> Set<String> {
        let regex = try! NSRegularExpression(pattern: "robot_[a-z0-9_]*[a-z0-9]")
        let range = NSRange(text.startIndex..., in: text)
        return Set(regex.matches(in: text, range: range).compactMap { Range($0.range, in: text).map { String(text[$0]) } })
    }

    /// The metric names docs/METRICS.md documents: the first cell of each table row.
    static func documented() throws -> Set<String> {
        var names: Set<String> = []
        for line in try read("docs/METRICS.md").split(separator: "\n") where line.hasPrefix("| `robot_") {
            let cell = line.dropFirst(3).prefix { $0 != "`" }
            names.insert(String(cell))
        }
        return names
    }

    /// `name` is documented, itself or as a histogram's `_bucket`, `_sum` or `_count` series.
    static func isDocumented(_ name: String, in documented: Set<String>) -> Bool {
        if documented.contains(name) { return true }
        for suffix in ["_bucket", "_sum", "_count"] where name.hasSuffix(suffix) {
            if documented.contains(String(name.dropLast(suffix.count))) { return true }
        }
        return false
    }

    func run(_ arguments: [String]) throws -> CommandResult {
        guard FileManager.default.isExecutableFile(atPath: Self.promtool) else {
            throw TestFailure("\(Self.promtool) is missing: run scripts/setup (it installs Debian's prometheus package)")
        }
        let home = try TestHome()
        defer { home.cleanup() }
        let p = try RunningProcess(
            executable: Self.promtool, arguments: arguments, environment: [:], logPrefix: home.path + "/promtool")
        let status = try p.waitForExit(timeout: 60)
        return CommandResult(status: status, stdout: p.stdout, stderr: p.stderr)
    }

    @Test func theAlertRulesPassPromtoolsCheckAndTheirUnitTests() throws {
        let dir = Self.repository + "/contrib/prometheus"
        let check = try run(["check", "rules", dir + "/robot.rules.yml"])
        #expect(check.status == 0, "\(check.stdout)\(check.stderr)")
        #expect(check.stdout.contains("SUCCESS"), "\(check.stdout)")
        let test = try run(["test", "rules", dir + "/robot.rules.test.yml"])
        #expect(test.status == 0, "\(test.stdout)\(test.stderr)")
        #expect(test.stdout.contains("SUCCESS") && !test.stdout.contains("FAILED"), "\(test.stdout)")
        // Every rule has a unit test.
        let rules = try Self.read("contrib/prometheus/robot.rules.yml")
        let tests = try Self.read("contrib/prometheus/robot.rules.test.yml")
        for line in rules.split(separator: "\n") where line.contains("- alert: ") {
            let name = line.split(separator: " ").last.map(String.init) ?? ""
            #expect(tests.contains("alertname: \(name)"), "\(name) has no test in robot.rules.test.yml")
        }
    }

    @Test func docsMetricsListsExactlyTheNamesTheCodeExports() throws {
        let code = Self.metricNames(try Self.read("Sources/Observability/MetricName.swift"))
        let documented = try Self.documented()
        #expect(code.count >= 30, "\(code.sorted())")
        #expect(code.subtracting(documented).isEmpty, "exported but not in docs/METRICS.md: \(code.subtracting(documented).sorted())")
        #expect(documented.subtracting(code).isEmpty, "in docs/METRICS.md but not exported: \(documented.subtracting(code).sorted())")
    }

    @Test func everyMetricTheRulesAndTheDashboardNameIsDocumented() throws {
        let documented = try Self.documented()
        let rules = Self.metricNames(try Self.read("contrib/prometheus/robot.rules.yml"))
        #expect(rules.count >= 8, "\(rules.sorted())")
        for name in rules.sorted() {
            let known = Self.isDocumented(name, in: documented)
            #expect(known, "robot.rules.yml names \(name), not in docs/METRICS.md")
        }

        let data = try Data(contentsOf: URL(fileURLWithPath: Self.repository + "/contrib/grafana/robot-dashboard.json"))
        let dashboard = try #require(try JSONParser.parse(Array(data)).objectValue)
        guard case .array(let panels)? = dashboard["panels"] else {
            Issue.record("the dashboard has no panels")
            return
        }
        #expect(panels.count >= 10)
        var used: Set<String> = []
        for panel in panels {
            let p = try #require(panel.objectValue)
            let title = p["title"]?.stringValue ?? "?"
            guard case .array(let targets)? = p["targets"], !targets.isEmpty else {
                Issue.record("panel \(title) has no query")
                continue
            }
            for t in targets {
                let expr = t.objectValue?["expr"]?.stringValue ?? ""
                let names = Self.metricNames(expr)
                #expect(!names.isEmpty, "panel \(title): \(expr) names no robot_ metric")
                for name in names {
                    let known = Self.isDocumented(name, in: documented)
                    #expect(known, "panel \(title) names \(name), not in docs/METRICS.md")
                }
                used.formUnion(names)
            }
        }
        // The dashboard shows every process's essentials.
        for name in ["robot_heartbeat_state", "robot_open_alerts", "robot_supervisor_restarts_total", "robot_alert_queue_length"] {
            #expect(used.contains(name), "the dashboard shows no \(name)")
        }
    }
}
