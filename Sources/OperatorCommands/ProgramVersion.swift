/// `PROGRAM --version`: the version and the commit baked in at build time (`BuildInfo`, written by
/// the BuildInfoPlugin; the commit is "unknown" when the build had no git).
public enum ProgramVersion {
    public static var version: String { BuildInfo.version }
    public static var commit: String { BuildInfo.commit }

    /// `0.18.0 (commit 1a2b3c4d5e6f)`: what ArgumentParser prints after the program's name is not
    /// added, so the program name is given here.
    public static func line(_ program: String) -> String { "\(program) \(version) (commit \(commit))" }

}
