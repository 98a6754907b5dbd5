import Platform
import Testing

@Suite struct NotifyMessageTests {
    @Test func assignmentsAreRecognisedAndTheRestKept() {
        let m = NotifyMessage("READY=1\nSTATUS=ES: lock held\nWATCHDOG=1\nMAINPID=12\nnonsense\n")
        #expect(m.ready && m.watchdog && !m.stopping && !m.watchdogTrigger)
        #expect(m.status == "ES: lock held")
        #expect(m.unknown == ["MAINPID=12", "nonsense"])
    }

    @Test func valuesOtherThanOneDoNotCount() {
        let m = NotifyMessage("READY=0\nWATCHDOG=trigger\nSTOPPING=1\nSTATUS=a=b")
        #expect(!m.ready && !m.watchdog && m.watchdogTrigger && m.stopping)
        #expect(m.status == "a=b")
    }

    @Test func invalidUTF8IsRepairedNotRefused() {
        let m = NotifyMessage([0x52, 0x45, 0x41, 0x44, 0x59, 0x3D, 0x31, 0x0A, 0xFF])
        #expect(m.ready)
        #expect(m.unknown.count == 1)
    }
}
