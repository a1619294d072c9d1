"""Just enough PromQL reading to check what dashboards and rules refer to: the metric names, the
label names, and balanced brackets. (``promtool check rules`` parses them fully, in the
integration tier; this runs everywhere, with no tool to build.)

The names of the metrics that exist come from the code: the executor's and the operator's
``Metrics`` classes are instantiated and their prometheus_client collectors walked, so a metric
renamed in code and not in a dashboard (or the other way round) fails here.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, Summary
from prometheus_client.metrics import MetricWrapperBase

FUNCTIONS = frozenset(
    {
        "abs", "absent", "absent_over_time", "avg", "avg_over_time", "bottomk", "ceil", "changes",
        "clamp", "clamp_max", "clamp_min", "count", "count_over_time", "count_values", "delta",
        "deriv", "floor", "group", "histogram_quantile", "idelta", "increase", "irate",
        "label_join", "label_replace", "last_over_time", "max", "max_over_time", "min",
        "min_over_time", "present_over_time", "quantile", "quantile_over_time", "rate",
        "resets", "round", "scalar", "sort", "sort_desc", "stddev", "sum", "sum_over_time",
        "time", "timestamp", "topk", "vector",
    }
)  # fmt: skip
KEYWORDS = frozenset({"and", "or", "unless", "bool", "offset", "by", "without", "on", "ignoring"})
GROUPING = ("by", "without", "on", "ignoring", "group_left", "group_right")
#: Labels Prometheus adds to every target scraped through a ServiceMonitor, and ``le``.
TARGET_LABELS = frozenset(
    {"job", "instance", "namespace", "pod", "service", "endpoint", "container"}
)
#: Series that do not come from fks code.
EXTERNAL_METRICS = frozenset({"up"})

_STRING = re.compile(r'"(?:[^"\\]|\\.)*"|`[^`]*`')
_GRAFANA_VAR = re.compile(r"\$\{[^}]*\}|\$\w+")
_GROUP_CLAUSE = re.compile(r"\b(" + "|".join(GROUPING) + r")\s*\(([^()]*)\)")
_MATCHERS = re.compile(r"\{([^{}]*)\}")
_MATCHER = re.compile(r"^\s*([A-Za-z_][A-Za-z0-9_]*)\s*(=~|!~|!=|=)\s*$")
_RANGE = re.compile(r"\[[^\[\]]*\]")
_OFFSET = re.compile(r"\boffset\s+-?\w+")
_IDENT = re.compile(r"(?<![\w.])([A-Za-z_:][A-Za-z0-9_:]*)")
_NUMBER = re.compile(r"(?<![\w])\d+(\.\d+)?([eE][-+]?\d+)?")


@dataclass
class Refs:
    metrics: set[str] = field(default_factory=set)
    labels: set[str] = field(default_factory=set)
    unknown: set[str] = field(default_factory=set)


def balanced(expr: str) -> bool:
    """Brackets pair up (outside string literals)."""
    stack: list[str] = []
    pairs = {")": "(", "]": "[", "}": "{"}
    for char in _STRING.sub('""', expr):
        if char in "([{":
            stack.append(char)
        elif char in pairs and (not stack or stack.pop() != pairs[char]):
            return False
    return not stack


def _arguments(text: str, start: int) -> list[str]:
    """The top-level comma-separated arguments of the call whose "(" ends at ``start``."""
    masked = _STRING.sub(lambda m: "x" * len(m.group(0)), text)
    depth, args, begin = 0, [], start
    for index in range(start, len(text)):
        char = masked[index]
        if char in "([{":
            depth += 1
        elif char in ")]}":
            if depth == 0:
                args.append(text[begin:index])
                return args
            depth -= 1
        elif char == "," and depth == 0:
            args.append(text[begin:index])
            begin = index + 1
    return args


def references(expr: str) -> Refs:
    """Metric names and label names an expression refers to; ``unknown``: other identifiers."""
    refs = Refs()
    text = _GRAFANA_VAR.sub("", expr)
    # label_replace(v, "dst", "repl", "src", "regex") introduces/reads labels by string.
    for match in re.finditer(r"label_replace\s*\(", text):
        args = _arguments(text, match.end())
        if len(args) != 5:
            refs.unknown.add("label_replace with other than 5 arguments")
            continue
        refs.labels.update(args[i].strip().strip('"') for i in (1, 3))
    for match in _MATCHERS.finditer(_STRING.sub('""', text)):
        for part in match.group(1).split(","):
            if part.strip():
                found = _MATCHER.match(part.replace('""', ""))
                if found is None:
                    refs.unknown.add(f"matcher {part.strip()!r}")
                else:
                    refs.labels.add(found.group(1))
    text = _STRING.sub("", text)
    text = _MATCHERS.sub(" ", text)
    for match in _GROUP_CLAUSE.finditer(text):
        refs.labels.update(name.strip() for name in match.group(2).split(",") if name.strip())
    text = _GROUP_CLAUSE.sub(" ", text)
    text = _OFFSET.sub(" ", _RANGE.sub(" ", text))
    text = _NUMBER.sub(" ", text)
    for name in _IDENT.findall(text):
        if name in FUNCTIONS or name in KEYWORDS or name in GROUPING:
            continue
        if name.startswith("fks_") or name in EXTERNAL_METRICS:
            refs.metrics.add(name)
        else:
            refs.unknown.add(name)
    return refs


@dataclass(frozen=True)
class KnownMetrics:
    series: frozenset[str]
    labels: frozenset[str]


def _collectors(owner: object) -> list[MetricWrapperBase]:
    return [value for value in vars(owner).values() if isinstance(value, MetricWrapperBase)]


def _series_names(metric: MetricWrapperBase) -> set[str]:
    # prometheus_client keeps the family name without the counter's _total suffix.
    name = metric._name  # the collector's documented name (no public accessor)
    if isinstance(metric, Counter):
        return {f"{name}_total"}
    if isinstance(metric, Histogram):
        return {f"{name}_bucket", f"{name}_sum", f"{name}_count"}
    if isinstance(metric, Summary):
        return {name, f"{name}_sum", f"{name}_count"}
    assert isinstance(metric, Gauge), type(metric)
    return {name}


def known_metrics() -> KnownMetrics:
    """Every series name the executor and the operator expose, with their label names."""
    from fks_executor.metrics import Metrics as ExecutorMetrics
    from fks_operator.metrics import Metrics as OperatorMetrics

    owners: list[object] = [
        ExecutorMetrics("pipeline", ["account"]),
        OperatorMetrics(CollectorRegistry()),
    ]
    series: set[str] = set()
    labels: set[str] = {"le"}
    for owner in owners:
        for metric in _collectors(owner):
            series |= _series_names(metric)
            labels |= set(metric._labelnames)  # declared label names (no public accessor)
    return KnownMetrics(frozenset(series | EXTERNAL_METRICS), frozenset(labels | TARGET_LABELS))
