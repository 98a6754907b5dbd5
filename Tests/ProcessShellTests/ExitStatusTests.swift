import Foundation
import ProcessShell
import SupervisorCore
import Testing
import WatchdogCore
import WorkerCore

/// Each program's exit statuses against its manual page's table, and the shared ones against
/// docs/EXIT-STATUS.md: a status added, removed or renumbered in one place and not the other fails.
@Suite struct ExitStatusTests {
    static let docs = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("docs").path

    /// The statuses in the first column of the first table under `heading` in docs/`page`.
    static func statuses(in page: String, under heading: String) throws -> Set<Int32> {
        let text = try String(contentsOfFile: docs + "/" + page, encoding: .utf8)
        let lines = text.components(separatedBy: "\n")
        let start = try #require(lines.firstIndex(of: heading), "\(page) has no \(heading)")
        var found: Set<Int32> = []
        var inTable = false
        for line in lines[(start + 1)...] {
            if line.hasPrefix("#") { break }
            guard line.hasPrefix("|") else {
                if inTable { break }
                continue
            }
            inTable = true
            let first = line.split(separator: "|", omittingEmptySubsequences: true).first?.trimmingCharacters(in: .whitespaces) ?? ""
            if let n = Int32(first) { found.insert(n) }
        }
        #expect(!found.isEmpty, "no status table under \(heading) in \(page)")
        return found
    }

    func check<S: ProgramExitStatus>(_: S.Type, page: String) throws {
        let documented = try Self.statuses(in: page, under: "## Exit statuses")
        let declared = Set(S.allCases.map(\.rawValue))
        #expect(documented == declared, "\(page): documented \(documented.sorted()), \(S.self) declares \(declared.sorted())")
    }

    @Test func theWorkersStatusesAreItsManualPages() throws { try check(WorkerCore.ExitStatus.self, page: "robot-worker.md") }

    @Test func theWatchdogsStatusesAreItsManualPages() throws { try check(WatchdogExitStatus.self, page: "watchdog.md") }

    @Test func theSupervisorsStatusesAreItsManualPages() throws { try check(SupervisorExitStatus.self, page: "supervisor.md") }

    @Test func theSharedStatusesAreTheSharedPages() throws {
        let documented = try Self.statuses(in: "EXIT-STATUS.md", under: "# Exit statuses shared by the three programs")
        #expect(documented == Set(SharedExitStatus.allCases.map(\.rawValue)))
    }

    /// Where the programs' meanings coincide, their statuses are the shared ones, case by case.
    @Test func coincidingMeaningsHaveTheSharedNumbers() {
        let worker: [(WorkerCore.ExitStatus, SharedExitStatus)] = [
            (.ok, .ok), (.notRunning, .notRunning), (.usage, .usage), (.osError, .osError), (.notPermitted, .notPermitted),
            (.config, .config), (.alreadyActive, .anotherInstance),
        ]
        let watchdog: [(WatchdogExitStatus, SharedExitStatus)] = [
            (.ok, .ok), (.notRunning, .notRunning), (.usage, .usage), (.osError, .osError), (.notPermitted, .notPermitted),
            (.config, .config), (.alreadyRunning, .anotherInstance), (.unknownMarket, .unknownMarket),
        ]
        let supervisor: [(SupervisorExitStatus, SharedExitStatus)] = [
            (.ok, .ok), (.notRunning, .notRunning), (.usage, .usage), (.osError, .osError), (.notPermitted, .notPermitted),
            (.config, .config), (.alreadyRunning, .anotherInstance), (.unknownMarket, .unknownMarket),
        ]
        for (status, shared) in worker { #expect(status.shared == shared, "robot-worker \(status)") }
        for (status, shared) in watchdog { #expect(status.shared == shared, "watchdog \(status)") }
        for (status, shared) in supervisor { #expect(status.shared == shared, "supervisor \(status)") }
        // Every status with a shared number is listed above: no program gives a shared number another meaning.
        #expect(WorkerCore.ExitStatus.allCases.filter { $0.shared != nil }.count == worker.count)
        #expect(WatchdogExitStatus.allCases.filter { $0.shared != nil }.count == watchdog.count)
        #expect(SupervisorExitStatus.allCases.filter { $0.shared != nil }.count == supervisor.count)
    }
}
