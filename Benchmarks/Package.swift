// swift-tools-version:6.1
// Micro-benchmarks of the hot paths, in a package of their own so that the project's normal
// `swift build` and CI never compile ordo-one/benchmark. Run: swift package --package-path Benchmarks benchmark
import PackageDescription

let package = Package(
    name: "robot-runtime-benchmarks",
    platforms: [.macOS(.v14)],
    dependencies: [
        .package(name: "robot-runtime", path: ".."),
        .package(url: "https://github.com/ordo-one/benchmark", exact: "1.38.1", traits: ["MallocInterposer"]),
    ],
    targets: [
        .executableTarget(
            name: "HotPaths",
            dependencies: [
                .product(name: "Benchmark", package: "benchmark"),
                .product(name: "RobotRuntimeHotPaths", package: "robot-runtime"),
            ],
            path: "Benchmarks/HotPaths",
            plugins: [.plugin(name: "BenchmarkPlugin", package: "benchmark")]
        )
    ]
)
