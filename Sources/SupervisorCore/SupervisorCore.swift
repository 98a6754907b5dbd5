/// The supervisor: one worker per market, restart policy, control (docs/supervisor.md).
public enum SupervisorCore {}
