/// The embedded default configuration: used when neither `--config` nor `$ROBOT_CONFIG` names a
/// file. `config/robot.json` in the repository is the same text (a test keeps them equal), so an
/// operator can copy it and edit it.
public enum DefaultConfiguration {
    public static let name = "<embedded default configuration>"
    public static let text = #"""
        {
          "account": "default",
          "instrument_map": {
            "MES": "ES",
            "MNQ": "NQ",
            "MYM": "YM",
            "M2K": "RTY",
            "MCL": "CL",
            "MGC": "GC"
          },
          "markets": {
            "ES": {
              "execution": "MES",
              "streams": {
                "ES1": { "instrument": "ES" },
                "ES2": { "instrument": "ES" }
              },
              "strategy": {
                "command": ["python3", "-m", "robot_strategy.examples.ma_crossover"],
                "environment": { "PYTHONPATH": "{config_dir}/../sdk/python" },
                "heartbeat_seconds": 5,
                "limits": {
                  "max_order_quantity": 2,
                  "max_position": 2,
                  "max_open_orders": 1,
                  "max_orders_per_minute": 30,
                  "max_notional": 20000,
                  "max_rejections_per_minute": 30
                }
              }
            },
            "NQ": {
              "execution": "MNQ",
              "streams": {
                "NQ1": { "instrument": "NQ" },
                "NQ2": { "instrument": "NQ" }
              }
            },
            "CL": {
              "execution": "MCL",
              "streams": {
                "CL1": { "instrument": "CL" }
              }
            }
          },
          "timings": {
            "heartbeat_interval_seconds": 30,
            "invariants_interval_seconds": 60,
            "heartbeat_late_intervals": 2,
            "heartbeat_lost_seconds": 120
          },
          "paths": {
            "lock_dir": "runtime_locks",
            "state_dir": "state",
            "socket_dir": "run"
          },
          "dashboard": {
            "enabled": true,
            "host": "127.0.0.1",
            "port": 9480
          }
        }

        """#
}
