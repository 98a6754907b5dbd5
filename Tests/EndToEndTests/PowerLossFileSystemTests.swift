import Foundation
import Synchronization
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// tools/powerloss-fs itself: what survives its `cut`, and `freeze` and `arm`. The power-loss tests
/// can only fail if the file system really drops what was not synced, so this is checked first.
@Suite struct PowerLossFileSystemTests {
    func write(_ path: String, _ text: String, sync: Bool, flags: Int32 = O_WRONLY | O_CREAT | O_TRUNC) throws {
        let fd = open(path, flags | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw TestFailure("open \(path): errno \(errno)") }
        defer { close(fd) }
        let bytes = Array(text.utf8)
        guard Glibc.write(fd, bytes, bytes.count) == bytes.count else { throw TestFailure("write \(path): errno \(errno)") }
        if sync { guard fsync(fd) == 0 else { throw TestFailure("fsync \(path): errno \(errno)") } }
    }

    func syncFolder(_ path: String) throws {
        let fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard fd >= 0 else { throw TestFailure("open \(path): errno \(errno)") }
        defer { close(fd) }
        guard fsync(fd) == 0 else { throw TestFailure("fsync \(path): errno \(errno)") }
    }

    func read(_ path: String) -> String? { try? String(contentsOfFile: path, encoding: .utf8) }

    @Test func aCutKeepsWhatWasSyncedAndDropsTheRest() throws {
        let home = try TestHome()
        defer { home.cleanup() }
        let fs = try PowerLossMount(home: home)
        defer { fs.unmount() }
        let m = fs.path
        for d in [
            "synced", "unsynced-data", "unsynced-name", "append", "replace", "replace-no-folder-sync", "replace-no-file-sync", "unlink",
            "in-place",
        ] {
            guard mkdir(m + "/" + d, 0o755) == 0 else { throw TestFailure("mkdir \(d): errno \(errno)") }
        }
        try syncFolder(m)
        try write(m + "/synced/f", "kept", sync: true)
        try syncFolder(m + "/synced")
        try write(m + "/unsynced-data/f", "lost", sync: false)
        try syncFolder(m + "/unsynced-data")
        try write(m + "/unsynced-name/f", "synced, but not its name", sync: true)
        try write(m + "/append/f", "line 1\n", sync: true, flags: O_WRONLY | O_CREAT | O_APPEND)
        try syncFolder(m + "/append")
        try write(m + "/append/f", "line 2\n", sync: false, flags: O_WRONLY | O_APPEND)
        for (dir, syncFile, syncDir) in [
            ("replace", true, true), ("replace-no-folder-sync", true, false), ("replace-no-file-sync", false, true),
        ] {
            try write(m + "/\(dir)/f", "old", sync: true)
            try syncFolder(m + "/\(dir)")
            try write(m + "/\(dir)/f.tmp", "new", sync: syncFile)
            guard rename(m + "/\(dir)/f.tmp", m + "/\(dir)/f") == 0 else { throw TestFailure("rename: errno \(errno)") }
            if syncDir { try syncFolder(m + "/\(dir)") }
        }
        try write(m + "/unlink/f", "comes back", sync: true)
        try syncFolder(m + "/unlink")
        unlink(m + "/unlink/f")
        try write(m + "/in-place/f", "record 1", sync: true)
        try syncFolder(m + "/in-place")
        try write(m + "/in-place/f", "record 2", sync: false, flags: O_RDWR | O_TRUNC)
        guard mkdir(m + "/new-folder", 0o755) == 0 else { throw TestFailure("mkdir: errno \(errno)") }
        try write(m + "/new-folder/f", "in a folder whose name was never synced", sync: true)
        try syncFolder(m + "/new-folder")
        #expect(read(m + "/unlink/f") == nil)
        #expect(read(m + "/append/f") == "line 1\nline 2\n", "live until the cut")

        try fs.cut()
        #expect(read(m + "/synced/f") == "kept")
        #expect(read(m + "/unsynced-data/f") == "", "a synced name with unsynced data is an empty file")
        #expect(read(m + "/unsynced-name/f") == nil)
        #expect(read(m + "/append/f") == "line 1\n")
        #expect(read(m + "/replace/f") == "new")
        #expect(read(m + "/replace-no-folder-sync/f") == "old")
        #expect(read(m + "/replace-no-folder-sync/f.tmp") == nil)
        #expect(read(m + "/replace-no-file-sync/f") == "", "renamed and the folder synced, but the data never was")
        #expect(read(m + "/unlink/f") == "comes back")
        #expect(read(m + "/in-place/f") == "record 1")
        #expect(!FileManager.default.fileExists(atPath: m + "/new-folder"))
        #expect(fs.status()["cuts"] == 1)
    }

    @Test func armCutsRightAfterTheSyncOfItsTextAndThenNothingIsWritten() throws {
        let home = try TestHome()
        defer { home.cleanup() }
        let fs = try PowerLossMount(home: home)
        defer { fs.unmount() }
        let f = fs.path + "/journal"
        try write(f, "first\n", sync: true, flags: O_WRONLY | O_CREAT | O_APPEND)
        try syncFolder(fs.path)
        try fs.command("arm TRIGGER")
        try write(f, "TRIGGER\n", sync: true, flags: O_WRONLY | O_APPEND)
        #expect(fs.status()["dead"] == 1)
        #expect(throws: TestFailure.self) { try write(f, "after\n", sync: false, flags: O_WRONLY | O_APPEND) }
        try fs.command("revive")
        #expect(read(f) == "first\nTRIGGER\n")
    }

    @Test func aSyncBlockedByFreezeMakesNothingDurableWhenTheCutComesFirst() throws {
        let home = try TestHome()
        defer { home.cleanup() }
        let fs = try PowerLossMount(home: home)
        defer { fs.unmount() }
        let f = fs.path + "/f"
        try write(f, "old", sync: true)
        try syncFolder(fs.path)
        try fs.command("freeze")
        let fd = open(f, O_WRONLY | O_TRUNC | O_CLOEXEC)
        #expect(Glibc.write(fd, "new", 3) == 3)
        let result = Mutex<Int32?>(nil)
        let syncer = Thread {
            let r = fsync(fd)
            result.withLock { $0 = r }
        }
        syncer.start()
        try waitFor("the fsync to block", seen: { "\(fs.status())" }) { fs.status()["blocked"] == 1 ? true : nil }
        #expect(result.withLock { $0 } == nil, "fsync returned while frozen")
        try fs.cut()
        try waitFor("the blocked fsync to return") { result.withLock { $0 } }
        #expect(result.withLock { $0 } == -1, "the fsync the cut overtook fails")
        close(fd)
        #expect(read(f) == "old")
    }
}
