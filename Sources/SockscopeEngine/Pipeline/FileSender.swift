import Glibc
import NIOCore
import NIOPosix
import SockscopeCore

/// Streams one file out on a stream connection with sendfile(2) (NIO's `FileRegion`): the
/// bytes go from the page cache to the socket without passing through user space.
///
/// The file goes out a chunk at a time, a few chunks queued at once: the next chunk is queued
/// only when an earlier one has left, so NIO's write queue stays small however big the file
/// is, the kernel's socket buffer never runs dry, and each chunk that leaves is one `.sent`
/// event (exact counts; the first carries a preview of the file's first bytes), reported by
/// the connection's `StreamTap`, through which the chunks go out.
///
/// Created and driven on the connection's event loop; opening the file (which may block on
/// slow storage) happens on NIO's blocking-I/O pool. Its events go out through the
/// connection, after the reads counted before them, and it tells the connection when it has
/// finished, so that a requested close waits for the whole file.
final class FileSender {
    static let chunkSize = 1 << 20
    static let chunksInFlight = 4

    private struct OpenedFile: Sendable {
        let descriptor: CInt
        let size: Int
        let preview: [UInt8]
    }

    private let path: String
    private let id: SocketID
    private let request: RequestID
    private let connection: ConnectionHandler
    private let eventLoop: any EventLoop

    private var file: NIOFileHandle?
    private var size = 0
    private var preview: [UInt8] = []
    private var nextOffset = 0
    /// Bytes the kernel has taken so far.
    private var sentCount = 0
    private var chunksQueued = 0
    private var failed = false

    init(path: String, id: SocketID, request: RequestID, connection: ConnectionHandler, eventLoop: any EventLoop) {
        self.path = path
        self.id = id
        self.request = request
        self.connection = connection
        self.eventLoop = eventLoop
    }

    private var sink: EventSink { connection.sinkAfterTraffic }

    /// Opens the file and starts sending; the request completes when all of it has left or
    /// sending failed (one `.error` naming the call and the path).
    func start() {
        let path = path
        NIOThreadPool.singleton.runIfActive(eventLoop: eventLoop) { try Self.open(path) }
            .assumeIsolated()
            .whenComplete { result in
                switch result {
                case .success(let opened):
                    self.file = NIOFileHandle(_deprecatedTakingOwnershipOfDescriptor: opened.descriptor)
                    self.size = opened.size
                    self.preview = opened.preview
                    self.sink.emit(.fileSending(self.id, path: self.path, size: opened.size), request: self.request)
                    if opened.size == 0 {
                        self.sink.emit(.sent(self.id, bytes: [], count: 0), request: self.request)
                        self.finish()
                    } else {
                        self.queueChunks()
                    }
                case .failure(let error):
                    self.fail(error, call: "open")
                    self.finish()
                }
            }
    }

    /// Blocking: opens `path` for reading, checks it is a regular file, reads a preview.
    private static func open(_ path: String) throws -> OpenedFile {
        let descriptor = Glibc.open(path, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else { throw IOError(errnoCode: errno, reason: "open") }
        var status = stat()
        guard fstat(descriptor, &status) == 0 else {
            let code = errno
            close(descriptor)
            throw IOError(errnoCode: code, reason: "fstat")
        }
        switch status.st_mode & S_IFMT {
        case S_IFREG:
            break
        case S_IFDIR:
            close(descriptor)
            throw IOError(errnoCode: EISDIR, reason: "open")
        default:
            close(descriptor)
            throw SocketFailure(call: "sendfile", errno: EINVAL, code: "EINVAL",
                                explanation: "not a regular file: sendfile sends only files with a fixed size",
                                target: path)
        }
        var preview = [UInt8](repeating: 0, count: DataPreview.limit)
        let read = preview.withUnsafeMutableBytes { pread(descriptor, $0.baseAddress, $0.count, 0) }
        preview.removeSubrange(max(read, 0)...)
        return OpenedFile(descriptor: descriptor, size: Int(status.st_size), preview: preview)
    }

    private func queueChunks() {
        guard let file else { return }
        while !failed, chunksQueued < Self.chunksInFlight, nextOffset < size {
            let start = nextOffset
            let end = min(start + Self.chunkSize, size)
            nextOffset = end
            chunksQueued += 1
            let region = FileRegion(fileHandle: file, readerIndex: start, endIndex: end)
            // The first chunk's event previews the file; the others only count.
            let preview = start == 0 ? Array(preview.prefix(end - start)) : []
            guard let written = connection.tap.send(.fileRegion(region), request: request, preview: preview) else {
                chunkDone(.failure(ChannelError.ioOnClosedChannel), count: end - start)
                continue
            }
            written.assumeIsolated().whenComplete { result in
                self.chunkDone(result, count: end - start)
            }
        }
    }

    private func chunkDone(_ result: Result<Void, any Error>, count: Int) {
        chunksQueued -= 1
        switch result {
        case .success:
            sentCount += count
        case .failure(let error):
            fail(error, call: "sendfile")
        }
        if chunksQueued == 0 && (failed || nextOffset == size) {
            finish()
        } else {
            queueChunks()
        }
    }

    /// Reports the first failure only: the chunks queued behind it fail the same way.
    private func fail(_ error: any Error, call: String) {
        guard !failed else { return }
        failed = true
        var failure = (error as? SocketFailure) ?? SocketFailure.from(error, call: call, target: path, namedByNIO: false)
        if failure.errno == nil, let reason = connection.closeReason {
            // Cut short by the connection's end (a reset, the engine stopping, the peer): say which, and how far it got.
            failure.explanation = "\(id) closed (\(reason)) with \(sentCount) of \(size) bytes sent"
        }
        sink.emit(.error(id, failure), request: request)
    }

    private func finish() {
        try? file?.close()
        file = nil
        sink.complete(request)
        connection.fileSendEnded()
    }
}
