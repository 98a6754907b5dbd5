/// The watchdog: ingestion, state, alerts, status (docs/watchdog.md).
public enum WatchdogCore {}
