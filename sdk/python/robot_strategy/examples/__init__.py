"""Example strategies (run with `python3 -m robot_strategy.examples.NAME`)."""
