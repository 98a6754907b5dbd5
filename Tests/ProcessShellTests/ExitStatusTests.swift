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
        for status in S.allCases {
            if let shared = status.shared {
                #expect(status.rawValue == shared.rawValue, "\(S.self).\(status) is \(status.rawValue), shared \(shared) is \(shared.rawValue)")
            } else {
                #expect(SharedExitStatus(rawValue: status.rawValue) == nil, "\(S.self).\(status) uses shared number \(status.rawValue) for another meaning")
            }
        }
    }

    @Test func theWorkersStatusesAreItsManualPages() throws { try check(ExitStatus.self, page: "robot-worker.md") }

    @Test func theWatchdogsStatusesAreItsManualPages() throws { try check(WatchdogExitStatus.self, page: "watchdog.md") }

    @Test func theSupervisorsStatusesAreItsManualPages() throws { try check(SupervisorExitStatus.self, page: "supervisor.md") }

    @Test func theSharedStatusesAreTheSharedPages() throws {
        let documented = try Self.statuses(in: "EXIT-STATUS.md", under: "# Exit statuses shared by the three programs")
        #expect(documented == Set(SharedExitStatus.allCases.map(\.rawValue)))
    }

    @Test func anotherInstanceIsOneNumberInEveryProgram() {
        #expect(ExitStatus.alreadyActive.shared == .anotherInstance)
        #expect(WatchdogExitStatus.alreadyRunning.shared == .anotherInstance)
        #expect(SupervisorExitStatus.alreadyRunning.shared == .anotherInstance)
        #expect(WatchdogExitStatus.notPermitted.rawValue == SupervisorExitStatus.notPermitted.rawValue)
        #expect(ExitStatus.notPermitted.rawValue == SupervisorExitStatus.notPermitted.rawValue)
    }
}
