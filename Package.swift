// swift-tools-version:6.1
import PackageDescription

// Layering (checked by Tests/ArchitectureTests): see ARCHITECTURE.md.
//   SockscopeCore      pure Swift: state, reducer, command language, formatting. Imports nothing of ours.
//   SockscopeEngine    SwiftNIO sockets. Imports Core (vocabulary only), NIO, CSystemShim.
//   SockscopeUI        renders AppState into an off-screen CellGrid. Imports Core only.
//   SockscopeTerminal  the only caller of ncurses. Imports UI, Core, CNcursesShim.
//   SockscopeApp       event loop and wiring of Engine, Core, UI, Terminal.
//   sockscope          argument parsing; calls SockscopeApp.
let package = Package(
    name: "sockscope",
    platforms: [.macOS(.v13)],
    products: [
        .executable(name: "sockscope", targets: ["sockscope"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.2"),
        .package(url: "https://github.com/x-sheep/swift-property-based.git", from: "2.0.1"),
        // TLS (issue 19): the handshake is BoringSSL's through swift-nio-ssl; certificates are read and
        // made with swift-certificates, keys and fingerprints with swift-crypto. No cryptography of ours.
        .package(url: "https://github.com/apple/swift-nio-ssl.git", from: "2.37.6"),
        .package(url: "https://github.com/apple/swift-certificates.git", from: "1.21.1"),
        .package(url: "https://github.com/apple/swift-crypto.git", "3.12.3"..<"5.0.0"),
        .package(url: "https://github.com/apple/swift-asn1.git", from: "1.7.4"),
        // Relay hold (issue 18): held chunks are framed by NIOExtras' line and length-field decoders.
        .package(url: "https://github.com/apple/swift-nio-extras.git", from: "1.35.2"),
    ],
    targets: [
        .target(name: "CNcursesShim", linkerSettings: [.linkedLibrary("ncursesw")]),
        .target(name: "CSystemShim"),
        .target(name: "SockscopeCore"),
        .target(
            name: "SockscopeEngine",
            dependencies: [
                "SockscopeCore", "CSystemShim",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOTLS", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "X509", package: "swift-certificates"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "SwiftASN1", package: "swift-asn1"),
                .product(name: "NIOExtras", package: "swift-nio-extras"),
                // Only to run NIOExtras' frame decoders over held bytes (`RelayHoldFramer`).
                .product(name: "NIOEmbedded", package: "swift-nio"),
            ]
        ),
        .target(name: "SockscopeUI", dependencies: ["SockscopeCore"]),
        .target(name: "SockscopeTerminal", dependencies: ["SockscopeUI", "SockscopeCore", "CNcursesShim"]),
        .target(
            name: "SockscopeApp",
            dependencies: [
                "SockscopeCore", "SockscopeEngine", "SockscopeUI", "SockscopeTerminal", "CSystemShim",
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
            ]
        ),
        .executableTarget(
            name: "sockscope",
            dependencies: [
                "SockscopeApp",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        // The TUI at scale: 10,000 rows and 1,000,000 log entries, frame costs timed (a benchmark, not a test).
        .executableTarget(
            name: "FrameBench",
            dependencies: ["SockscopeCore", "SockscopeUI", "SockscopeTerminal"],
            path: "Benchmarks/FrameBench"
        ),
        // Plain SwiftNIO echo server: the framework's own cost, a reference row for scripts/bench.sh.
        .executableTarget(
            name: "NIOEchoReference",
            dependencies: [
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
            ],
            path: "Benchmarks/NIOEchoReference"
        ),
        .testTarget(
            name: "SockscopeCoreTests",
            dependencies: ["SockscopeCore", "TestSupport", .product(name: "PropertyBased", package: "swift-property-based")],
            exclude: ["Corpus"]
        ),
        .testTarget(name: "SockscopeEngineTests", dependencies: [
            "SockscopeEngine", "SockscopeCore", "TestSupport",
            // EmbeddedChannel: the pipeline's handlers tested one event at a time, no sockets.
            .product(name: "NIOEmbedded", package: "swift-nio"),
            .product(name: "NIOCore", package: "swift-nio"),
            .product(name: "NIOPosix", package: "swift-nio"),
        ]),
        .testTarget(name: "SockscopeUITests", dependencies: ["SockscopeUI", "SockscopeCore", "TestSupport"], exclude: ["Snapshots"]),
        .testTarget(name: "SockscopeAppTests", dependencies: ["SockscopeApp", "SockscopeCore", "SockscopeEngine", "TestSupport"]),
        .testTarget(name: "ArchitectureTests"),
        .target(name: "TestSupport", dependencies: ["CSystemShim", "SockscopeCore"], path: "Tests/TestSupport"),
    ],
    swiftLanguageModes: [.v6]
)
