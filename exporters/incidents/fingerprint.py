"""Alertmanager's fingerprint of a label set, computed the way Alertmanager does.

Why: an escalation (`AlertEscalated`, see generator/rules/escalation.py) is a second
alert with its own fingerprint, but it is the same incident as the alert it
escalates. Its labels are the original's plus `escalated_alertname` and
`escalation_level`, so the original label set, and with it the original
fingerprint, can be rebuilt exactly. The hash is prometheus/common's
`LabelSet.Fingerprint`: FNV-1a 64 over the names in sorted order, each name and
value followed by the 0xff separator byte; hand-written because it is eight lines
and no maintained Python package exposes it.
"""

from __future__ import annotations

from collections.abc import Mapping

ESCALATION_ALERT = "AlertEscalated"
ESCALATED_NAME = "escalated_alertname"
ESCALATION_LEVEL = "escalation_level"

_OFFSET = 14695981039346656037
_PRIME = 1099511628211
_MASK = (1 << 64) - 1
_SEPARATOR = 0xFF


def fingerprint(labels: Mapping[str, str]) -> str:
    """The 16-hex-digit fingerprint Alertmanager puts in its webhook payloads."""
    value = _OFFSET
    for name in sorted(labels):
        for part in (name, labels[name]):
            for byte in part.encode():
                value = ((value ^ byte) * _PRIME) & _MASK
            value = ((value ^ _SEPARATOR) * _PRIME) & _MASK
    return f"{value:016x}"


def original_labels(labels: Mapping[str, str]) -> tuple[dict[str, str], int]:
    """The escalated alert's own labels and the escalation level (1: not an escalation)."""
    if labels.get("alertname") != ESCALATION_ALERT or ESCALATED_NAME not in labels:
        return dict(labels), 1
    original = {k: v for k, v in labels.items() if k not in (ESCALATED_NAME, ESCALATION_LEVEL)}
    original["alertname"] = labels[ESCALATED_NAME]
    try:
        level = int(labels.get(ESCALATION_LEVEL, "2"))
    except ValueError:
        level = 2
    return original, max(2, min(level, 99))
