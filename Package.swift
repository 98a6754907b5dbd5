// swift-tools-version:6.0
import PackageDescription

let package = Package(
    name: "robot-runtime",
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "robot-worker", targets: ["robot-worker"]),
        .executable(name: "watchdog", targets: ["watchdog"]),
        .executable(name: "supervisor", targets: ["supervisor"]),
        .executable(name: "paper-venue", targets: ["paper-venue"]),
        // For the micro-benchmarks in Benchmarks/ (a package of its own that depends on this one by
        // path); an automatic library of targets that every build compiles anyway.
        .library(name: "RobotRuntimeHotPaths", targets: ["Platform", "Wire", "WatchdogCore"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.2"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.4.1"),
    ],
    targets: [
        .systemLibrary(
            name: "CSystemd",
            pkgConfig: "libsystemd",
            providers: [.apt(["libsystemd-dev"])]
        ),
        .target(name: "CShim"),
        .target(
            name: "Platform",
            dependencies: ["CSystemd", "CShim"]
        ),
        .target(
            name: "Wire",
            dependencies: ["Platform"]
        ),
        .target(
            name: "Guard",
            dependencies: ["Platform", "Wire"]
        ),
        .target(
            name: "RobotConfig",
            dependencies: ["Platform", "Wire"]
        ),
        .target(
            name: "Observability",
            dependencies: [
                "Platform", "Wire", "CSystemd",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
            ]
        ),
        // The version and commit baked in at build time (scripts/build-info), for `--version`.
        .plugin(name: "BuildInfoPlugin", capability: .buildTool()),
        // What the three programs' command lines share: --config/--home, --version, status --watch.
        .target(
            name: "OperatorCommands",
            dependencies: ["RobotConfig", .product(name: "ArgumentParser", package: "swift-argument-parser")],
            plugins: ["BuildInfoPlugin"]
        ),
        .target(
            name: "ProcessShell",
            dependencies: ["Platform", "Observability", .product(name: "Logging", package: "swift-log")]
        ),
        .target(
            name: "WorkerCore",
            dependencies: [
                "Platform", "Wire", "Guard", "RobotConfig", "CShim", "Observability", "ProcessShell",
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .executableTarget(
            name: "robot-worker",
            dependencies: [
                "WorkerCore", "RobotConfig", "Platform", "Wire", "OperatorCommands",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        .target(
            name: "WatchdogCore",
            dependencies: ["Platform", "Wire", "Guard", "RobotConfig", "Observability", "ProcessShell"]
        ),
        .executableTarget(
            name: "watchdog",
            dependencies: [
                "WatchdogCore", "Platform", "Wire", "RobotConfig", "OperatorCommands",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        .target(
            name: "SupervisorCore",
            dependencies: [
                "Platform", "Wire", "RobotConfig", "CShim", "Observability", "ProcessShell",
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .executableTarget(
            name: "supervisor",
            dependencies: [
                "SupervisorCore", "Platform", "Wire", "RobotConfig", "OperatorCommands",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        // The paper execution venue: its book, journal and socket server (docs/paper-venue.md).
        .target(
            name: "VenueCore",
            dependencies: ["Platform", "Wire", "RobotConfig", "ProcessShell", .product(name: "Logging", package: "swift-log")]),
        .executableTarget(
            name: "paper-venue",
            dependencies: [
                "VenueCore", "WorkerCore", "RobotConfig", "OperatorCommands",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        // Helpers the unit tests share (temporary folders, file identities); not a product.
        .target(name: "TestSupport", dependencies: ["Platform"], path: "Tests/TestSupport"),
        .testTarget(name: "PlatformTests", dependencies: ["Platform"]),
        .testTarget(name: "WireTests", dependencies: ["Wire", "Platform"]),
        .testTarget(name: "GuardTests", dependencies: ["TestSupport", "Guard", "Platform", "Wire"]),
        .testTarget(name: "RobotConfigTests", dependencies: ["TestSupport", "RobotConfig", "Guard", "Wire"]),
        .testTarget(name: "WorkerCoreTests", dependencies: ["TestSupport", "WorkerCore", "RobotConfig", "Platform", "Wire"]),
        .testTarget(name: "WatchdogCoreTests", dependencies: ["WatchdogCore", "RobotConfig", "Platform", "Wire"]),
        .testTarget(name: "SupervisorCoreTests", dependencies: ["SupervisorCore", "RobotConfig", "Platform", "Wire"]),
        .testTarget(
            name: "ObservabilityTests",
            dependencies: ["Observability", "Platform", "Wire", .product(name: "Prometheus", package: "swift-prometheus")]
        ),
        .testTarget(name: "ProcessShellTests", dependencies: ["ProcessShell", "WorkerCore", "WatchdogCore", "SupervisorCore"]),
        .testTarget(name: "VenueCoreTests", dependencies: ["VenueCore", "Wire"]),
        .testTarget(name: "EndToEndTests", dependencies: ["Platform", "Wire", "RobotConfig"]),
    ]
)
