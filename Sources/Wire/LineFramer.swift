#if canImport(Glibc)
import Glibc
#endif

/// Splits a byte stream into newline-terminated lines of at most `maxLineBytes` (newline excluded).
///
/// ```
///   append("{\"a\":1}\n{\"b\"")  ->  drain: .line({"a":1})          buffered: {"b"
///   append(":2}\n")               ->  drain: .line({"b":2})          buffered: (nothing)
///   append(70_000 bytes, no \n)   ->  drain: nothing                  discarding (not buffered)
///   append("...}\n")              ->  drain: .tooLong(70_005)         buffered: (nothing)
/// ```
///
/// A line over the limit is never buffered whole: its bytes are dropped as they arrive, up to and
/// including its newline, and reported once as `.tooLong` with its length. Memory stays bounded by
/// `maxLineBytes` plus one read, whatever a peer sends.
public struct LineFramer {
    public enum Frame {
        /// One line, newline excluded. Valid only inside the `drain` callback.
        case line(UnsafeBufferPointer<UInt8>)
        /// A line of the given length (newline excluded) was over the limit and discarded.
        case tooLong(Int)
    }

    public let maxLineBytes: Int
    private var buffer: [UInt8] = []
    private var start = 0
    private var discarding = false
    private var discarded = 0

    public init(maxLineBytes: Int = WireFormat.maxLineBytes) {
        self.maxLineBytes = maxLineBytes
    }

    /// Bytes of an unfinished line held back for the next `append`.
    public var pendingBytes: Int { discarding ? 0 : buffer.count - start }

    /// Adds bytes read from the stream.
    public mutating func append(_ bytes: UnsafeRawBufferPointer) {
        buffer.append(contentsOf: bytes)
    }

    /// Adds bytes read from the stream.
    public mutating func append(_ bytes: [UInt8]) {
        buffer.append(contentsOf: bytes)
    }

    /// Calls `body` with every complete line (or over-long report) now available, in order.
    public mutating func drain(_ body: (Frame) throws -> Void) rethrows {
        let newline = Int32(UInt8(ascii: "\n"))
        while start < buffer.count {
            let end: Int? = buffer.withUnsafeBufferPointer { p in
                guard let base = p.baseAddress, let hit = memchr(base + start, newline, p.count - start) else { return nil }
                return base.distance(to: hit.assumingMemoryBound(to: UInt8.self))
            }
            guard let end else {
                if discarding {
                    discarded += buffer.count - start
                    start = buffer.count
                } else if buffer.count - start > maxLineBytes {
                    discarding = true
                    discarded = buffer.count - start
                    start = buffer.count
                }
                break
            }
            let length = end - start
            if discarding {
                discarding = false
                let total = discarded + length
                discarded = 0
                start = end + 1
                try body(.tooLong(total))
            } else if length > maxLineBytes {
                start = end + 1
                try body(.tooLong(length))
            } else {
                let lineStart = start
                start = end + 1
                try buffer.withUnsafeBufferPointer { p in
                    try body(.line(UnsafeBufferPointer(rebasing: p[lineStart..<end])))
                }
            }
        }
        compact()
    }

    private mutating func compact() {
        if start == buffer.count {
            buffer.removeAll(keepingCapacity: buffer.capacity <= 4 * maxLineBytes)
            start = 0
        } else if start > 0, start >= buffer.count / 2 {
            buffer.removeSubrange(0..<start)
            start = 0
        }
    }
}
