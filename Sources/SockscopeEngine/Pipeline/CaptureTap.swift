import Glibc
import NIOCore
import SockscopeCore

/// `capture on`: the tap that hands a TCP connection's bytes, as they go over the wire, to
/// the `CaptureWriter`. First in the pipeline (before TLS, so it sees ciphertext, which
/// Wireshark decrypts with the keys the file carries), added only while a capture runs
/// (`ConnectionHandler.install`, `Engine.startCapture` for connections already open), and
/// removed when it stops: without a capture no connection pays anything for it.
///
/// A read is captured as read, a write as handed to NIO (a write the kernel later refuses
/// is in the file, not in sockscope's counts); a file region (sendfile) is read back from
/// its file. FIN is captured when the peer's arrives (`inputClosed`) or ours is asked for;
/// RST when ours is asked for (`reset`, a relay passing one on) or the connection ended with
/// the peer's. UNIX stream connections are not captured (no IP addresses to give them).
final class StreamCaptureTap: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer
    typealias OutboundIn = IOData
    typealias OutboundOut = IOData

    private let writer: CaptureWriter
    private unowned let connection: ConnectionHandler
    /// Set once the connection is open and has IP addresses; nil: nothing is captured.
    private var key: PacketSynthesis.FlowKey?
    private var ended = false
    /// swift-nio-ssl is behind this tap: a read may yield secrets that must go in the file first
    /// (`CaptureRecord.tlsRead`). Set as the tap opens, and by `starttls` as it upgrades.
    var tlsBehind = false

    init(writer: CaptureWriter, connection: ConnectionHandler) {
        self.writer = writer
        self.connection = connection
    }

    func handlerAdded(context: ChannelHandlerContext) {
        // Added to an open connection (`capture on` while it runs).
        if context.channel.isActive { open(context: context, midStream: true) }
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        if let key, !ended { writer.submit(.tcpClosed(key)) }
        key = nil
    }

    func channelActive(context: ChannelHandlerContext) {
        open(context: context, midStream: false)
        context.fireChannelActive()
    }

    private func open(context: ChannelHandlerContext, midStream: Bool) {
        guard key == nil else { return }
        let local = SocketEndpoint(context.channel.localAddress)
        let remote = SocketEndpoint(context.channel.remoteAddress)
        guard local.isIP, remote.isIP else { return }
        let key = writer.nextFlow()
        self.key = key
        tlsBehind = (try? context.pipeline.syncOperations.handler(type: TLSWireObserver.self)) != nil
        writer.submit(.tcpOpen(key, local: local, remote: remote, initiatedLocally: connection.initiatedLocally,
                               name: connection.assignID().description, midStream: midStream, time: CaptureRecord.now()))
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard let key else { return context.fireChannelRead(data) }
        let buffer = Self.unwrapInboundIn(data)
        let record: CaptureRecord = tlsBehind ? .tlsRead(key, CaptureRecord.unplaced, time: CaptureRecord.now())
            : .tcpData(key, fromLocal: false, CaptureRecord.unplaced, time: CaptureRecord.now())
        buffer.withUnsafeReadableBytes { writer.submit(record, payload: $0) }
        guard tlsBehind else { return context.fireChannelRead(data) }
        context.fireChannelRead(data)
        writer.submit(.readDone(key))
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if let key, case ChannelEvent.inputClosed = event {
            writer.submit(.tcpFin(key, fromLocal: false, time: CaptureRecord.now()))
        }
        context.fireUserInboundEventTriggered(event)
    }

    func channelInactive(context: ChannelHandlerContext) {
        if let key, !ended {
            ended = true
            // The peer's RST (ours was captured as it was asked for).
            if connection.endedByReset { writer.submit(.tcpReset(key, fromLocal: false, time: CaptureRecord.now())) }
            writer.submit(.tcpClosed(key))
        }
        context.fireChannelInactive()
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        if let key {
            let record = CaptureRecord.tcpData(key, fromLocal: true, CaptureRecord.unplaced, time: CaptureRecord.now())
            switch Self.unwrapOutboundIn(data) {
            case .byteBuffer(let buffer):
                if buffer.readableBytes > 0 { buffer.withUnsafeReadableBytes { writer.submit(record, payload: $0) } }
            case .fileRegion(let region):
                let bytes = Self.contents(of: region)
                if !bytes.isEmpty { bytes.withUnsafeBytes { writer.submit(record, payload: $0) } }
            }
        }
        context.write(data, promise: promise)
    }

    func close(context: ChannelHandlerContext, mode: CloseMode, promise: EventLoopPromise<Void>?) {
        if let key, !ended, mode != .input {
            if mode == .all && connection.endedByReset {
                // `reset` (SO_LINGER 0) asked for this close: the kernel sends RST.
                ended = true
                writer.submit(.tcpReset(key, fromLocal: true, time: CaptureRecord.now()))
                writer.submit(.tcpClosed(key))
            } else {
                writer.submit(.tcpFin(key, fromLocal: true, time: CaptureRecord.now()))
            }
        }
        context.close(mode: mode, promise: promise)
    }

    /// A sendfile chunk's bytes, read from its file (a chunk is at most `FileSender`'s size).
    private static func contents(of region: FileRegion) -> [UInt8] {
        let count = region.readableBytes
        guard count > 0 else { return [] }
        return (try? region.fileHandle.withUnsafeFileDescriptor { fd in
            [UInt8](unsafeUninitializedCapacity: count) { buffer, initialized in
                var done = 0
                while done < count {
                    let got = pread(fd, buffer.baseAddress! + done, count - done, off_t(region.readerIndex + done))
                    if got < 0 && errno == EINTR { continue }
                    if got <= 0 { break }
                    done += got
                }
                initialized = done
            }
        }) ?? []
    }
}

/// `capture on` for a UDP socket: every datagram, whole, with the addresses it had, from the
/// head of the pipeline (before the `DatagramTap`). The socket's first captured datagram names it.
final class DatagramCaptureTap: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = AddressedEnvelope<ByteBuffer>
    typealias InboundOut = AddressedEnvelope<ByteBuffer>
    typealias OutboundIn = NIOAny
    typealias OutboundOut = NIOAny

    private let writer: CaptureWriter
    /// The socket's id, asked for when its first datagram is captured (it is bound by then).
    private let name: () -> String
    private var key: PacketSynthesis.FlowKey?

    init(writer: CaptureWriter, name: @escaping () -> String) {
        self.writer = writer
        self.name = name
    }

    private func flow() -> PacketSynthesis.FlowKey {
        if let key { return key }
        let key = writer.nextFlow()
        writer.submit(.udpOpen(key, name: name()))
        self.key = key
        return key
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let envelope = Self.unwrapInboundIn(data)
        capture(envelope.data, peer: envelope.remoteAddress, fromLocal: false, context: context)
        context.fireChannelRead(data)
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        // Below the `DatagramTap` a connected socket's writes are bare buffers.
        if let peer = context.channel.remoteAddress {
            capture(BareDatagram.unwrapOutboundIn(data), peer: peer, fromLocal: true, context: context)
        } else {
            let envelope = AddressedDatagram.unwrapOutboundIn(data)
            capture(envelope.data, peer: envelope.remoteAddress, fromLocal: true, context: context)
        }
        context.write(data, promise: promise)
    }

    private func capture(_ buffer: ByteBuffer, peer: SocketAddress, fromLocal: Bool, context: ChannelHandlerContext) {
        var local = SocketEndpoint(context.channel.localAddress)
        let remote = SocketEndpoint(peer)
        guard let port = local.port, remote.isIP else { return }
        // A listener bound to the wildcard does not know which of its addresses a datagram
        // used; for a loopback peer it was loopback.
        if local.isWildcard && remote.isLoopback, case .ipv6 = remote {
            local = .loopback(ipv6: true, port: port)
        } else if local.isWildcard && remote.isLoopback {
            local = .loopback(ipv6: false, port: port)
        }
        let record = CaptureRecord.datagram(flow(), local: local, remote: remote, fromLocal: fromLocal,
                                            CaptureRecord.unplaced, time: CaptureRecord.now())
        buffer.withUnsafeReadableBytes { writer.submit(record, payload: $0) }
    }
}

/// The two shapes a datagram write has below the `DatagramTap`, to read a write's `NIOAny`.
private final class BareDatagram: ChannelOutboundHandler {
    typealias OutboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer
}

private final class AddressedDatagram: ChannelOutboundHandler {
    typealias OutboundIn = AddressedEnvelope<ByteBuffer>
    typealias OutboundOut = AddressedEnvelope<ByteBuffer>
}
