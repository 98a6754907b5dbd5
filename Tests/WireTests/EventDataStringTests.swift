import Testing
import Wire

/// `Event.dataString` answers what `data[key]?.stringValue` answers, reading a decoded line's
/// bytes in place: only top-level keys, only string values.
@Suite struct EventDataStringTests {
    func decoded(data: String) throws -> Event {
        let line =
            #"{"v":1,"type":"HEARTBEAT","market":"ES","run_id":"ES-20261121T071500Z-4f3a9c1b","pid":4242,"fence":7,"#
            + #""ts":"2026-11-21T07:15:00.123456Z","data":"# + data + "}"
        return try Event.decode(line: Array(line.utf8))
    }

    @Test(arguments: [
        #"{"mode":"AGGRESSIVE","uptime_seconds":30.0,"rss_bytes":9400320,"interval_seconds":30.0,"last_seq":4}"#,
        #"{"uptime_seconds":30.5,"mode":"OBSERVE_ONLY"}"#,
        #"{ "last_seq" : 4 , "mode" : "SHUTDOWN" }"#,
        #"{"inner":{"mode":"NESTED"},"list":["mode",{"mode":"IN_LIST"}],"mode":"TOP"}"#,
        #"{"inner":{"mode":"NESTED"}}"#,
        #"{"note":"mode","x":1}"#,
        #"{"mode":3}"#,
        #"{"mode":null}"#,
        #"{"mode":{"a":"b"}}"#,
        #"{"modes":"NO","mod":"NO"}"#,
        #"{"mode":""}"#,
        #"{}"#,
    ])
    func theSameAnswerAsTheParsedObject(data: String) throws {
        let event = try decoded(data: data)
        #expect(event.dataString("mode") == event.data["mode"]?.stringValue, "\(data)")
    }

    @Test func topLevelOnlyAndStringsOnly() throws {
        #expect(try decoded(data: #"{"inner":{"mode":"NESTED"},"mode":"TOP"}"#).dataString("mode") == "TOP")
        #expect(try decoded(data: #"{"inner":{"mode":"NESTED"}}"#).dataString("mode") == nil)
        #expect(try decoded(data: #"{"mode":3}"#).dataString("mode") == nil)
        // An event built in code holds its object: the same answer.
        let built = Event(type: "HEARTBEAT", market: "ES", runID: "r", pid: 1, fence: 1, seq: nil, ts: "t", data: ["mode": "AGGRESSIVE"])
        #expect(built.dataString("mode") == "AGGRESSIVE")
    }
}
