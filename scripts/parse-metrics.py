"""Parses a Prometheus text exposition (0.0.4) from stdin with prometheus_client's parser and
prints {"families": [{"name", "type", "help"}], "samples": [{"name", "labels", "value"}]} as JSON.

Strict: exits 1 with the reason when the parser rejects a line, when a family has no TYPE
(prometheus_client calls it "unknown"), or when a family is declared twice. Used by the end-to-end
tests to check what each process serves on /metrics."""
import json
import math
import sys

from prometheus_client.parser import text_string_to_metric_families

text = sys.stdin.read()
families, samples, seen = [], [], set()
try:
    for family in text_string_to_metric_families(text):
        if family.type == "unknown":
            sys.exit(f"family {family.name} has no TYPE line")
        if family.name in seen:
            sys.exit(f"family {family.name} appears twice")
        seen.add(family.name)
        families.append({"name": family.name, "type": family.type, "help": family.documentation})
        for s in family.samples:
            value = s.value
            if math.isinf(value):
                value = "+Inf" if value > 0 else "-Inf"
            samples.append({"name": s.name, "labels": s.labels, "value": value})
except ValueError as error:
    sys.exit(f"invalid exposition: {error}")
json.dump({"families": families, "samples": samples}, sys.stdout)
