import Foundation
import PackagePlugin

/// Bakes the version (the repository's `VERSION` file) and the commit (`git rev-parse`, "unknown"
/// without git or outside a clone) into `BuildInfo.swift` of the target that uses it. A prebuild
/// command, so it runs on every build; `scripts/build-info` rewrites the file only when its text
/// changes, so an unchanged commit compiles nothing again.
@main
struct BuildInfoPlugin: BuildToolPlugin {
    func createBuildCommands(context: PluginContext, target: Target) throws -> [Command] {
        let output = context.pluginWorkDirectoryURL.appending(path: "generated")
        let script = context.package.directoryURL.appending(path: "scripts/build-info")
        return [
            .prebuildCommand(
                displayName: "Baking the version and commit into BuildInfo.swift",
                executable: URL(fileURLWithPath: "/bin/sh"),
                arguments: [script.path, context.package.directoryURL.path, output.appending(path: "BuildInfo.swift").path],
                outputFilesDirectory: output)
        ]
    }
}
