import Testing
import Wire

@Suite("CanonicalMarket")
struct CanonicalMarketTests {
    @Test("valid names are kept exactly", arguments: ["ES", "NQ", "M", "MES_2", "ABCDEFGHIJKLMNOP", "A1_"])
    func valid(_ name: String) throws {
        let market = try #require(CanonicalMarket(name))
        #expect(market.name == name)
        #expect(market.description == name)
    }

    @Test(
        "anything that could leave its folder or is not a canonical name is refused",
        arguments: ["", "es", "Es", "1ES", "_ES", "E S", "ES/..", "../ES", "E.S", "ES\n", "ÉS", "ABCDEFGHIJKLMNOPQ", "E\u{0}S", "-ES"])
    func invalid(_ name: String) {
        #expect(CanonicalMarket(name) == nil)
    }

    @Test("ordered and hashed by name")
    func ordering() throws {
        let es = try #require(CanonicalMarket("ES"))
        let nq = try #require(CanonicalMarket("NQ"))
        #expect(es < nq)
        #expect([nq, es].sorted() == [es, nq])
        #expect(Set([es, es, nq]).count == 2)
    }
}
