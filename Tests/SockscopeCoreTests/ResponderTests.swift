import SockscopeCore
import Testing

/// The one decision every responder (TCP, UNIX stream, UDP, UNIX datagram) carries out.
@Suite struct ResponderTests {
    @Test func interactiveSocketsHaveNoResponder() {
        #expect(Responder(mode: .interactive, framing: .stream) == nil)
        #expect(Responder(mode: .interactive, framing: .datagrams) == nil)
    }

    @Test func echoAnswersWithTheReceivedBytesOnStreamsAndDatagrams() throws {
        for framing in [Responder.Framing.stream, .datagrams] {
            let echo = try #require(Responder(mode: .echo, framing: framing))
            #expect(echo.answer == .echo)
            #expect(echo.greeting == nil)
        }
    }

    @Test func aStreamReplyIsAGreetingADatagramReplyAnswersEachDatagram() throws {
        let stream = try #require(Responder(mode: .reply([1, 2]), framing: .stream))
        #expect(stream.greeting == [1, 2])
        #expect(stream.answer == .nothing)
        let datagrams = try #require(Responder(mode: .reply([1, 2]), framing: .datagrams))
        #expect(datagrams.greeting == nil)
        #expect(datagrams.answer == .bytes([1, 2]))
        #expect(try #require(Responder(mode: .reply([]), framing: .stream)).greeting == nil, "nothing to greet with")
    }

    @Test func discardOnlyCounts() throws {
        for framing in [Responder.Framing.stream, .datagrams] {
            let discard = try #require(Responder(mode: .discard, framing: framing))
            #expect(discard.answer == .nothing)
            #expect(discard.greeting == nil)
        }
    }

    @Test func streamRespondersCloseOnceThePeerHasFinished() throws {
        for mode in [ListenMode.echo, .reply([1]), .discard] {
            #expect(try #require(Responder(mode: mode, framing: .stream)).closesWhenPeerFinishes)
            #expect(try !#require(Responder(mode: mode, framing: .datagrams)).closesWhenPeerFinishes)
        }
    }
}
