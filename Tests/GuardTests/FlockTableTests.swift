import Guard
import TestSupport
import Testing

#if canImport(Glibc)
import Glibc
#endif

@Suite("FlockTable")
struct FlockTableTests {
    static let table = """
        1: FLOCK  ADVISORY  WRITE 4242 fe:00:16220186 0 EOF
        1: -> FLOCK  ADVISORY  WRITE 4343 fe:00:16220186 0 EOF
        2: POSIX  ADVISORY  WRITE 5555 fe:00:16220186 0 EOF
        3: OFDLCK ADVISORY  WRITE -1 fe:00:16220186 0 EOF
        4: FLOCK  ADVISORY  WRITE 6666 fe:00:16220187 0 EOF
        5: FLOCK  ADVISORY  WRITE 7777 fe:01:16220186 0 EOF
        6: FLOCK  ADVISORY  WRITE 8888 08:00:16220186 0 EOF
        7: LEASE  ACTIVE    READ  9999 fe:00:16220186 0 EOF
        8: FLOCK  ADVISORY  READ  1212 fe:00:16220186 0 EOF
        9: FLOCK  ADVISORY  WRITE 3131 103:01:555 0 EOF
        10: FLOCK  ADVISORY  WRITE 3232 08:123:777 0 EOF

        """

    @Test("finds the flock holders of device 0xfe00, inode 16220186, and nothing else")
    func literalTable() {
        #expect(FlockTable.holders(device: 65024, inode: 16_220_186, table: Self.table) == [4242, 1212])
    }

    @Test("a single holder line")
    func singleLine() {
        let line = "1: FLOCK  ADVISORY  WRITE 4242 fe:00:16220186 0 EOF\n"
        #expect(FlockTable.holders(device: 0xfe00, inode: 16_220_186, table: line) == [4242])
        #expect(FlockTable.holders(device: 0xfe00, inode: 16_220_187, table: line) == [])
        #expect(FlockTable.holders(device: 0xfe01, inode: 16_220_186, table: line) == [])
    }

    @Test("waiters, POSIX locks, OFD locks, leases and other inodes are not holders")
    func ignored() {
        let ignoredOnly = """
            1: -> FLOCK  ADVISORY  WRITE 4343 fe:00:16220186 0 EOF
            2: POSIX  ADVISORY  WRITE 5555 fe:00:16220186 0 EOF
            3: OFDLCK ADVISORY  WRITE -1 fe:00:16220186 0 EOF
            4: FLOCK  ADVISORY  WRITE 6666 fe:00:16220187 0 EOF
            7: LEASE  ACTIVE    READ  9999 fe:00:16220186 0 EOF
            """
        #expect(FlockTable.holders(device: 65024, inode: 16_220_186, table: ignoredOnly) == [])
        #expect(FlockTable.holders(device: 65024, inode: 16_220_186, table: "") == [])
        #expect(FlockTable.holders(device: 65024, inode: 16_220_186, table: "garbage\n1: FLOCK\n") == [])
    }

    @Test("major and minor numbers wider than 8 bits decode like makedev(3)")
    func wideDeviceNumbers() {
        // major 0x103, minor 1
        #expect(FlockTable.holders(device: 0x10301, inode: 555, table: Self.table) == [3131])
        // major 8, minor 0x123: the minor's high bits live above bit 20
        let device: UInt64 = (0x100 << 12) | (8 << 8) | 0x23
        #expect(FlockTable.holders(device: device, inode: 777, table: Self.table) == [3232])
        #expect(FlockTable.holders(device: 0x823, inode: 777, table: Self.table) == [])
    }

    @Test("an flock taken by this process is listed under its pid in /proc/locks")
    func liveLock() throws {
        let folder = try TemporaryFolder()
        defer { folder.remove() }
        let path = folder.file("live.lock")
        let fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
        try #require(fd >= 0)
        defer { close(fd) }
        try #require(flock(fd, LOCK_EX | LOCK_NB) == 0)
        var st = stat()
        try #require(fstat(fd, &st) == 0)
        let holders = FlockTable.holders(device: UInt64(st.st_dev), inode: UInt64(st.st_ino))
        #expect(holders.contains(getpid()), "holders \(holders), pid \(getpid())")
        #expect(holders.count == 1)
        flock(fd, LOCK_UN)
        #expect(!FlockTable.holders(device: UInt64(st.st_dev), inode: UInt64(st.st_ino)).contains(getpid()))
    }
}
