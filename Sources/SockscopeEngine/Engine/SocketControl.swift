import NIOCore
import SockscopeCore

/// What the engine can ask of any open socket's handler. Call only on that socket's event loop.
///
/// A new kind of socket adopts this, says which of the closed set of `SocketCapability`
/// it has (adopting `StreamControl` or `AddressedDatagramControl` when it is one), and
/// registers itself in the `SocketRegistry`; request dispatch (`Engine+Requests`) then
/// reaches it through that switch, never through a downcast.
protocol SocketControl: AnyObject {
    /// Writes `bytes`; answers `request` with `.sent` or `.error`, then `.requestCompleted`.
    func send(_ bytes: [UInt8], request: RequestID)
    /// Closes the socket; `.closed` carries `reason` and `request`, which is completed afterwards.
    func close(reason: String, request: RequestID?)
    /// What the socket can do beyond send and close.
    var capability: SocketCapability { get }
    /// Its kernel options (`set`/`get`); nil when it has none to offer.
    var optionAccess: (any SocketOptionAccess)? { get }
}

/// The engine's socket kinds, as far as requests tell them apart: a closed set, switched over exhaustively.
enum SocketCapability {
    /// A stream connection (TCP, UNIX stream): half-close, reset, file transfer.
    case stream(any StreamControl)
    /// A UDP socket: datagrams to any address.
    case addressedDatagrams(any AddressedDatagramControl)
    /// A UNIX datagram socket: datagrams to any socket name.
    case namedDatagrams(any NamedDatagramControl)
    /// A listening socket: it accepts, it sends nothing.
    case listener
    /// A relay's listening socket: a listener whose toxics can be changed, and that goes down and up.
    case relay(any RelayControl)
}

/// A stream connection's own requests. Call on the socket's event loop.
protocol StreamControl: SocketControl {
    /// Ends one direction; answers `.shutDown` (or `.error`), then `.requestCompleted`.
    func shutdown(_ direction: ShutdownDirection, request: RequestID)
    /// Closes with RST (SO_LINGER 0).
    func reset(request: RequestID)
    /// Sends a file's bytes, kernel to kernel where it can.
    func sendFile(path: String, request: RequestID)
    /// Upgrades the connection to TLS (after a protocol's STARTTLS dialogue); answered when
    /// the handshake is done, or with why the upgrade failed.
    func startTLS(_ startTLS: StartTLSRequest, request: RequestID)
    /// Reads its rules again from the engine's `RuleBook` (they changed).
    func refreshRules()
    /// Whether its events keep `DataPreview.followedLimit` bytes of each read and write.
    func follow(_ on: Bool)
    /// What its client side sent so far, for `replay`; nil when it keeps no record.
    var replayRecord: ReplayRecord? { get }
}

extension StreamControl {
    /// A stream socket that answers by no rules.
    func refreshRules() {}
    /// A stream socket whose events show no payload beyond the usual preview.
    func follow(_ on: Bool) {}
    /// A stream socket that records nothing for `replay`.
    var replayRecord: ReplayRecord? { nil }
}

/// A datagram socket that sends to any address. Call on the socket's event loop.
protocol AddressedDatagramControl: SocketControl {
    /// Whether the socket is IPv6: a name is resolved to an address of the socket's own family.
    var isIPv6: Bool { get }
    /// One datagram to `address` (already resolved).
    func send(_ bytes: [UInt8], to address: SocketAddress, request: RequestID)
}

/// A datagram socket that sends to any UNIX socket name. Call on the socket's event loop.
protocol NamedDatagramControl: SocketControl {
    /// One datagram to the socket named `name` (a path or `@abstract`).
    func send(_ bytes: [UInt8], to name: UnixSocketName, request: RequestID)
}
