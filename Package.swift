// swift-tools-version:6.1
import PackageDescription

let swiftSettings: [SwiftSetting] = [
    .enableUpcomingFeature("ExistentialAny"),
    .enableUpcomingFeature("MemberImportVisibility"),
]

let package = Package(
    name: "millwright",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "millwright", targets: ["millwright"]),
        .executable(name: "millwright-bench", targets: ["MillwrightBench"]),
        .executable(name: "millwright-odoo-sim", targets: ["MillwrightOdooSimulatorTool"]),
        .library(name: "MillwrightCore", targets: ["MillwrightCore"]),
        .library(name: "MillwrightTesting", targets: ["MillwrightTesting"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.0"),
        .package(url: "https://github.com/apple/swift-metrics.git", from: "2.13.0"),
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.0"),
        .package(url: "https://github.com/apple/swift-crypto.git", "3.12.0"..<"5.0.0"),
        .package(url: "https://github.com/apple/swift-http-types.git", from: "1.8.0"),
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.0"),
        .package(url: "https://github.com/groue/GRDB.swift.git", from: "7.10.0"),
        .package(url: "https://github.com/hummingbird-project/hummingbird.git", from: "2.28.0"),
        .package(url: "https://github.com/jpsim/Yams.git", from: "6.2.0"),
        .package(url: "https://github.com/swift-server/async-http-client.git", from: "1.37.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus.git", from: "2.4.0"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", from: "2.13.0"),
    ],
    targets: [
        // Domain: events, canonical catalogue, units, the Store protocol. No I/O.
        .target(
            name: "MillwrightCore",
            dependencies: [.product(name: "Logging", package: "swift-log")],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "MillwrightSQLite",
            dependencies: ["MillwrightCore", .product(name: "GRDB", package: "GRDB.swift")],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "MillwrightEngine",
            dependencies: [
                "MillwrightCore",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: swiftSettings
        ),
        // Outbound webhooks (the `webhook` sink) and the Standard Webhooks signature, which inbound hooks verify.
        .target(
            name: "MillwrightWebhooks",
            dependencies: [
                "MillwrightCore",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
            ],
            swiftSettings: swiftSettings
        ),
        // The `file` sink: JSON lines or CSV files in a folder, for legacy systems that read files.
        .target(
            name: "MillwrightFiles",
            dependencies: ["MillwrightCore"],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "MillwrightAPI",
            dependencies: [
                "MillwrightCore",
                "MillwrightEngine",
                "MillwrightWebhooks",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "NIOCore", package: "swift-nio"),
            ],
            swiftSettings: swiftSettings
        ),
        // The Odoo connector: JSON-2 / JSON-RPC client and the typed manufacturing operations.
        .target(
            name: "MillwrightOdoo",
            dependencies: [
                "MillwrightCore",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
            ],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "MillwrightServer",
            dependencies: [
                "MillwrightCore",
                "MillwrightSQLite",
                "MillwrightEngine",
                "MillwrightAPI",
                "MillwrightOdoo",
                "MillwrightWebhooks",
                "MillwrightFiles",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdCore", package: "hummingbird"),
                .product(name: "HummingbirdTLS", package: "hummingbird"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Yams", package: "Yams"),
            ],
            swiftSettings: swiftSettings
        ),
        .executableTarget(
            name: "millwright",
            dependencies: [
                "MillwrightServer",
                "MillwrightOdoo",
                "MillwrightAPI",
                "MillwrightCore",
                "MillwrightTesting",
                "MillwrightWebhooks",
                "MillwrightSQLite",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
            ],
            swiftSettings: swiftSettings
        ),
        // Test kit: the Store conformance suite, a test clock. Shipped as a product so stores outside
        // this package can prove themselves too.
        .target(
            name: "MillwrightTesting",
            dependencies: [
                "MillwrightCore",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
            ],
            swiftSettings: swiftSettings
        ),
        // The Odoo simulator as a process (integration tests, demos).
        .executableTarget(
            name: "MillwrightOdooSimulatorTool",
            dependencies: [
                "MillwrightTesting",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),
            ],
            path: "Sources/millwright-odoo-sim",
            swiftSettings: swiftSettings
        ),
        // In-repo load tool: raw store ceiling and HTTP ingest load (see BENCHMARKS.md).
        .executableTarget(
            name: "MillwrightBench",
            dependencies: [
                "MillwrightCore",
                "MillwrightOdoo",
                "MillwrightEngine",
                "MillwrightSQLite",
                "MillwrightServer",
                "MillwrightTesting",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
            ],
            path: "Benchmarks/MillwrightBench",
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "MillwrightCoreTests",
            dependencies: ["MillwrightCore"],
            swiftSettings: [.enableUpcomingFeature("ExistentialAny")]
        ),
        .testTarget(
            name: "MillwrightSQLiteTests",
            dependencies: ["MillwrightSQLite", "MillwrightTesting"],
            swiftSettings: [.enableUpcomingFeature("ExistentialAny")]
        ),
        .testTarget(
            name: "MillwrightEngineTests",
            dependencies: [
                "MillwrightEngine",
                "MillwrightSQLite",
                "MillwrightCore",
                "MillwrightTesting",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
            ],
            swiftSettings: [.enableUpcomingFeature("ExistentialAny")]
        ),
        // Outbound webhooks and the file sink through the real engine, store and a loopback HTTP receiver.
        .testTarget(
            name: "MillwrightWebhooksTests",
            dependencies: [
                "MillwrightWebhooks",
                "MillwrightFiles",
                "MillwrightEngine",
                "MillwrightSQLite",
                "MillwrightCore",
                "MillwrightTesting",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "NIOCore", package: "swift-nio"),
            ],
            swiftSettings: [.enableUpcomingFeature("ExistentialAny")]
        ),
        .testTarget(
            name: "MillwrightOdooTests",
            dependencies: [
                "MillwrightOdoo",
                "MillwrightEngine",
                "MillwrightSQLite",
                "MillwrightServer",
                "MillwrightAPI",
                .product(name: "Metrics", package: "swift-metrics"),
                "MillwrightCore",
                "MillwrightTesting",
                .product(name: "Logging", package: "swift-log"),
                // Change capture's tests run a node that Odoo (simulated or real) posts webhooks to.
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: [.enableUpcomingFeature("ExistentialAny")]
        ),
        .testTarget(
            name: "OdooSimulatorTests",
            dependencies: [
                "MillwrightTesting",
                "MillwrightCore",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "MillwrightAPITests",
            dependencies: [
                "MillwrightAPI",
                "MillwrightFiles",
                "MillwrightEngine",
                "MillwrightServer",
                "MillwrightSQLite",
                "MillwrightTesting",
                .product(name: "HummingbirdTesting", package: "hummingbird"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "GRDB", package: "GRDB.swift"),
            ],
            exclude: ["Fixtures"],
            swiftSettings: [.enableUpcomingFeature("ExistentialAny")]
        ),
    ]
)
