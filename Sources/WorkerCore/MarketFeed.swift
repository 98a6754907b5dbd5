import Platform
import Wire

/// One market-data tick: `{"instrument":"MES","price":5000.25,"size":1,"time":"2026-11-21T07:15:00.123Z"}`.
public struct Tick: Sendable, Equatable {
    public var instrument: String
    public var price: Double
    public var size: Double
    public var time: String

    /// Parses one NDJSON tick line, the format a file or socket feed delivers.
    public static func parse(_ line: [UInt8]) throws(LineError) -> Tick {
        let value = try JSONParser.parse(line)
        guard case .object(let o) = value else { throw LineError(.invalidField, "a tick is a JSON object") }
        guard let instrument = o["instrument"]?.stringValue, Identifier.isValidMarket(instrument) else {
            throw LineError(.invalidField, "instrument: expected an instrument name")
        }
        guard let price = o["price"]?.doubleValue, price.isFinite, price > 0 else {
            throw LineError(.invalidField, "price: expected a positive number")
        }
        guard let size = o["size"]?.doubleValue, size.isFinite, size >= 0 else {
            throw LineError(.invalidField, "size: expected a number >= 0")
        }
        guard let time = o["time"]?.stringValue, UTCTimestamp.parse(time) != nil else {
            throw LineError(.invalidField, "time: expected an ISO 8601 UTC time with fractional seconds")
        }
        return Tick(instrument: instrument, price: price, size: size, time: time)
    }

    public func encodedLine() -> [UInt8] {
        var out: [UInt8] = []
        JSONValue.object(["instrument": .string(instrument), "price": .double(price), "size": .double(size), "time": .string(time)])
            .write(into: &out)
        out.append(UInt8(ascii: "\n"))
        return out
    }
}

/// The `synthetic` feed: a seeded random walk in whole ticks, the same sequence for the same seed.
public struct SyntheticFeed: Sendable {
    public let instrument: String
    public let tickSize: Double
    public private(set) var price: Double
    private var random: SplitMix64

    public init(instrument: String, seed: UInt64, startPrice: Double, tickSize: Double) {
        self.instrument = instrument
        self.tickSize = tickSize
        self.price = startPrice
        self.random = SplitMix64(seed: seed)
    }

    /// The next tick: the price moves by -2...+2 ticks, never below one tick.
    public mutating func next(timeUTC: String) -> Tick {
        let step = Double(Int(random.next() % 5) - 2)
        price = max(tickSize, ((price + step * tickSize) / tickSize).rounded() * tickSize)
        return Tick(instrument: instrument, price: price, size: Double(1 + random.next() % 10), time: timeUTC)
    }
}
