import Glibc
import NIOCore

/// A detached POSIX thread running one closure: the readiness watcher of a socket NIO cannot
/// drive (see `UnixDatagramSocket`). Not NIO's blocking pool: a watcher holds its thread
/// for the socket's whole life, and the pool's few threads are needed for name lookups.
enum WatcherThread {
    private final class Body {
        let run: @Sendable () -> Void
        init(_ run: @escaping @Sendable () -> Void) { self.run = run }
    }

    static func start(_ run: @escaping @Sendable () -> Void) throws {
        let body = Unmanaged.passRetained(Body(run))
        var thread = pthread_t()
        let result = pthread_create(&thread, nil, { context in
            let body = Unmanaged<Body>.fromOpaque(context!).takeRetainedValue()
            body.run()
            return nil
        }, body.toOpaque())
        guard result == 0 else {
            body.release()
            throw IOError(errnoCode: result, reason: "pthread_create")
        }
        pthread_detach(thread)
    }
}
