"""Enough of a PromQL lexer to list the metric names an expression reads.

Dashboards and rules must only use metrics the stack exports, so tests need the metric
names out of each expression. A name is an identifier that is not a function, keyword,
aggregation modifier, label inside ``{...}``, label list after ``by``/``without``/``on``/
``ignoring``/``group_left``/``group_right``, string, duration or number. This is a lexer, not
a parser; it handles the constructs our dashboards and rules use and fails loudly (ValueError)
on text it cannot tokenise.
"""

from __future__ import annotations

import re

FUNCTIONS = frozenset({
    "abs", "absent", "absent_over_time", "avg_over_time", "ceil", "changes", "clamp",
    "clamp_max", "clamp_min", "count_over_time", "day_of_month", "day_of_week", "delta",
    "deriv", "exp", "floor", "histogram_quantile", "histogram_count", "histogram_sum",
    "holt_winters", "hour", "idelta", "increase", "irate", "label_join", "label_replace",
    "last_over_time", "ln", "log2", "log10", "max_over_time", "min_over_time", "minute",
    "month", "predict_linear", "present_over_time", "quantile_over_time", "rate", "resets",
    "round", "scalar", "sgn", "sort", "sort_desc", "sqrt", "stddev_over_time",
    "stdvar_over_time", "sum_over_time", "time", "timestamp", "vector", "year",
})
AGGREGATIONS = frozenset({
    "sum", "avg", "min", "max", "count", "stddev", "stdvar", "topk", "bottomk", "quantile",
    "count_values", "group",
})
KEYWORDS = frozenset({"and", "or", "unless", "bool", "offset", "inf", "nan"})
_LABEL_LIST_MODIFIERS = frozenset({"by", "without", "on", "ignoring", "group_left", "group_right"})

_TOKEN = re.compile(r"""
    (?P<space>\s+)
  | (?P<string>"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*')
  | (?P<duration>\[[0-9]+[smhdwy](?::[0-9]*[smhdwy]?)?\])
  | (?P<duration_literal>[0-9]+(?:ms|[smhdwy])\b)
  | (?P<number>[0-9]+(?:\.[0-9]+)?(?:e[+-]?[0-9]+)?)
  | (?P<ident>[a-zA-Z_:][a-zA-Z0-9_:]*)
  | (?P<op>==|!=|=~|!~|>=|<=|[-+*/%^<>=(){},])
""", re.VERBOSE)


def tokens(expr: str) -> list[tuple[str, str]]:
    """(kind, text) tokens of ``expr``; ValueError at the first character it cannot read."""
    found, pos = [], 0
    while pos < len(expr):
        match = _TOKEN.match(expr, pos)
        if not match:
            raise ValueError(f"promql: cannot read {expr[pos:pos + 20]!r} at offset {pos} in {expr!r}")
        if match.lastgroup != "space":
            found.append((match.lastgroup, match.group()))
        pos = match.end()
    return found


def metric_names(expr: str) -> set[str]:
    """The metric names ``expr`` selects."""
    names: set[str] = set()
    toks = tokens(expr)
    brace_depth = 0
    label_list = False  # inside the (...) after by/without/on/...
    for i, (kind, text) in enumerate(toks):
        if text == "{":
            brace_depth += 1
        elif text == "}":
            brace_depth -= 1
        elif text == ")" and label_list:
            label_list = False
        if kind != "ident" or brace_depth or label_list:
            continue
        lowered = text.lower()
        if lowered in _LABEL_LIST_MODIFIERS:
            if i + 1 < len(toks) and toks[i + 1][1] == "(":
                label_list = True
            continue
        following = toks[i + 1][1] if i + 1 < len(toks) else ""
        if lowered in AGGREGATIONS or lowered in KEYWORDS:
            continue
        if lowered in FUNCTIONS and following == "(":
            continue
        names.add(text)
    if brace_depth:
        raise ValueError(f"promql: unbalanced braces in {expr!r}")
    return names


def grafana_variable_metric_names(query: str) -> set[str]:
    """Metric names of a Grafana Prometheus variable query (``label_values(selector, label)``)."""
    inner = query.strip()
    if inner.startswith("label_values(") and inner.endswith(")"):
        selector = inner[len("label_values("):-1].rsplit(",", 1)[0]
        return metric_names(selector)
    return metric_names(inner)
