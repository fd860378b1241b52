import Glibc
import NIOConcurrencyHelpers
import NIOCore
import SockscopeCore

extension Engine {
    /// `capture on [PATH] [--max SIZE]` / `capture off` (see `CaptureWriter`, `StreamCaptureTap`).
    func capture(_ capture: CaptureRequest, request: RequestID) {
        let sink = sink
        switch capture {
        case .on(let asked, let maxBytes):
            let path = asked ?? Self.defaultCapturePath()
            if let running = registry.capture.writer {
                return sink.complete(request, failure: SocketFailure(
                    call: "capture", explanation: "a capture is already writing \(running.path): capture off first"))
            }
            let writer: CaptureWriter
            do {
                writer = try CaptureWriter(path: path, maxBytes: maxBytes)
            } catch {
                return sink.complete(request, failure: .from(error, call: "capture", target: path))
            }
            guard registry.capture.start(writer) else {
                writer.stop { _ in }
                return sink.complete(request, failure: SocketFailure(call: "capture", explanation: "a capture is already running"))
            }
            sink.emit(.capture(.started(path: path, maxBytes: maxBytes)), request: request)
            // Sockets already open join on their loops; new ones join as they are set up.
            let joined = registry.openEntries().map { entry in
                entry.eventLoop.submit { Self.capture(entry.control.value, with: writer) }
            }
            EventLoopFuture.andAllComplete(joined, on: group.next()).whenComplete { _ in sink.complete(request) }
        case .off:
            guard let writer = registry.capture.stop() else {
                return sink.complete(request, failure: SocketFailure(call: "capture", explanation: "no capture is running"))
            }
            // The taps leave first, then the writer writes what they handed it and closes the file.
            let left = registry.openEntries().map { entry in
                entry.eventLoop.submit { Self.capture(entry.control.value, with: nil) }
            }
            EventLoopFuture.andAllComplete(left, on: group.next()).whenComplete { _ in
                writer.stop { summary in
                    sink.emit(.capture(.stopped(summary)), request: request)
                    sink.complete(request)
                }
            }
        }
    }

    /// Adds (`writer`) or removes (nil) a socket's capture tap; on the socket's loop.
    private static func capture(_ control: any SocketControl, with writer: CaptureWriter?) {
        switch control {
        case let connection as ConnectionHandler:
            if let writer { connection.startCapture(writer) } else { connection.stopCapture() }
        case let datagrams as DatagramHandler:
            if let writer { datagrams.startCapture(writer) } else { datagrams.stopCapture() }
        default:
            break  // listeners and relays carry no bytes; UNIX datagram sockets have no IP addresses
        }
    }

    /// Ends a capture still running as the engine stops, waiting until its file is complete;
    /// its `capture-done` goes out with the engine's last events.
    func finishCapture() {
        guard let writer = registry.capture.stop() else { return }
        let done = ConditionLock(value: false)
        let sink = sink
        writer.stop { summary in
            sink.emit(.capture(.stopped(summary)))
            done.lock()
            done.unlock(withValue: true)
        }
        done.lock(whenValue: true)
        done.unlock()
    }

    /// `sockscope-20261203-142501.pcapng` in the working directory.
    static func defaultCapturePath() -> String {
        var now = time(nil)
        var parts = tm()
        localtime_r(&now, &parts)
        var text = [CChar](repeating: 0, count: 32)
        let length = strftime(&text, text.count, "%Y%m%d-%H%M%S", &parts)
        return "sockscope-" + String(decoding: text.prefix(length).map { UInt8(bitPattern: $0) }, as: UTF8.self) + ".pcapng"
    }
}
