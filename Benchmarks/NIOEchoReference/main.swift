// The plain SwiftNIO echo server: what the framework itself costs per round trip on
// this machine, with nothing of sockscope's in the way (no events, no log, no probe).
// A reference row for scripts/bench.sh, not part of the product.
//
//   NIOEchoReference HOST PORT [THREADS]
import NIOCore
import NIOPosix

final class EchoHandler: ChannelInboundHandler, Sendable {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        context.write(data, promise: nil)
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        context.flush()
    }
}

let arguments = CommandLine.arguments
guard arguments.count >= 3, let port = Int(arguments[2]) else {
    fatalError("usage: NIOEchoReference HOST PORT [THREADS]")
}
let threads = arguments.count > 3 ? Int(arguments[3]) ?? 1 : 1
let group = MultiThreadedEventLoopGroup(numberOfThreads: threads)
let channel = try ServerBootstrap(group: group)
    .serverChannelOption(.backlog, value: 4096)
    .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
    .childChannelOption(.tcpOption(.tcp_nodelay), value: 1)
    .childChannelInitializer { channel in
        channel.eventLoop.makeCompletedFuture { try channel.pipeline.syncOperations.addHandler(EchoHandler()) }
    }
    .bind(host: arguments[1], port: port)
    .wait()
try channel.closeFuture.wait()
