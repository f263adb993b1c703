"""promtool unit tests for every generated alert (`alert_rules/tests/`).

For each threshold of each signal: a value beyond it, evaluated after `for`, must raise
exactly the alerts whose thresholds that value crosses (with their labels and rendered
annotations), and a value on the safe side must not raise it. Counted events also get
a counter reset and an exporter restart, which must stay silent; a count threshold is
tested at its boundary (N-1, N, N+1 events) with evaluations on and between scrapes,
`any` across scrape gaps up to its stated maximum, and a signal that must ignore failed
attempts gets one that lasts its timeout. SLOs have their own module
(generator/rules/slo_tests.py); escalation gets an alert left firing past each step of
its severity's matrix.

What "crosses" means is decided by generator.thresholds, the same module the rules
are built from; the value each case uses is chosen here, away from every threshold,
so that a rule that compares the wrong way or with the wrong number fails.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from generator import promql, templating, units
from generator.catalogue import VIGIL
from generator.model import Severity, Signal, Spec
from generator.rules import escalation, signals
from generator.rules.fixtures import FAILED_ATTEMPTS, Context, Series, fixture
from generator.rules.humanize import humanize_value
from generator.thresholds import ABOVE, ANY, ANY_MAX_GAP, ANY_WINDOW, BELOW, BELOW_BASELINE, Threshold

INSTANCE = "test-1:9000"
WARMUP = 600.0  # seconds of data before anything is judged: rate windows fill up
BASELINE_STEP = 300.0  # baseline tests sample every 5 minutes over weeks of history
BASELINE_EVALUATION = 3600.0  # ...and evaluate hourly: weeks at 1m would take minutes


def crosses(threshold: Threshold, value: float) -> bool:
    """Whether a signal value fires this threshold (for baselines: the fraction below).

    Forecasts and anomalies never fire on a value alone (and alert under names of their
    own): generator/rules/predictive_tests.py tests them on histories."""
    if threshold.predictive:
        return False
    if threshold.kind == ANY:
        return value > 0
    if threshold.kind == ABOVE:
        return value > threshold.value
    if threshold.kind == BELOW:
        return value < threshold.value
    return value > threshold.value  # BELOW_BASELINE: value is the fraction below average


def case_values(signal: Signal, threshold: Threshold) -> tuple[float, float]:
    """(a value that fires `threshold`, a value that does not)."""
    if threshold.kind == ANY:
        return 5.0, 0.0
    others = [t.value for t in signal.thresholds if t.kind == threshold.kind and t is not threshold]
    if threshold.kind in (ABOVE, BELOW_BASELINE):
        stricter = [v for v in others if v > threshold.value]
        ceiling = 1.0 if signal.definition.unit == "ratio" or threshold.kind == BELOW_BASELINE else None
        if stricter:
            fire = (threshold.value + min(stricter)) / 2
        elif ceiling is not None:
            fire = min(threshold.value * 1.5, (threshold.value + ceiling) / 2)
        else:
            fire = threshold.value * 1.5
        return fire, threshold.value * 0.5
    stricter = [v for v in others if v < threshold.value]
    fire = (threshold.value + max(stricter)) / 2 if stricter else threshold.value * 0.5
    return fire, threshold.value * 1.5


def _series_text(name: str, labels: dict[str, str]) -> str:
    return f"{name}{{{promql.matchers(sorted(labels.items()))}}}"


def _base_labels(spec: Spec, signal: Signal) -> dict[str, str]:
    labels = dict(spec.selectors)
    if signal.definition.exporter is not None:
        labels["job"] = spec.jobs[signal.definition.exporter]
    labels["instance"] = INSTANCE
    return labels


def _by_labels(signal: Signal) -> dict[str, str]:
    """The value of each of the signal's `by` labels in the test series and alerts."""
    extra = found[1] if (found := fixture(signal.definition)) else {}
    return {label: INSTANCE if label == "instance" else extra.get(label, f"test-{label}")
            for label in signal.definition.by}


def _alert_labels(spec: Spec, signal: Signal, threshold: Threshold) -> dict[str, str]:
    return {**spec.selectors, **signals.alert_labels(spec, signal, threshold), **_by_labels(signal)}


def _expected(spec: Spec, signal: Signal, value: float) -> list[dict[str, Any]]:
    """Alerts raised when the signal reads `value` (which is also what `$value` renders)."""
    expected = []
    for threshold in signal.thresholds:
        if not crosses(threshold, value):
            continue
        labels = _alert_labels(spec, signal, threshold)
        text = humanize_value(signal.definition.unit, value, signal.definition.currency)
        expected.append({
            "exp_labels": labels,
            "exp_annotations": signals.annotations(spec, signal, threshold, text,
                                                   lambda name, lab=labels: lab[name],
                                                   templating.verbatim),
        })
    return expected


def _inputs(spec: Spec, signal: Signal, value: float, samples: int, eval_seconds: float,
            window: float | None) -> list[dict[str, str]]:
    base = _base_labels(spec, signal)
    found = fixture(signal.definition)
    if found is not None:
        build = found[0]
        series: list[Series] = build(Context(value, samples, eval_seconds, window))
    else:
        name = signals.recorded_name(signal) if window is None else (
            f"vigil:{signal.name}:increase{units.format_duration(window)}")
        labels = {k: v for k, v in base.items() if k in spec.selectors}
        series = [(name, _by_labels(signal), f"{value!r}x{samples}")]
        base = labels
    return [{"series": _series_text(name, {**base, **extra}), "values": values}
            for name, extra, values in series]


def _signal_case(spec: Spec, signal: Signal, threshold: Threshold, value: float,
                 title: str) -> dict[str, Any]:
    window = threshold.window if signal.definition.is_counter else None
    if window is None and signal.definition.is_counter:
        window = signals.ANY_WINDOW
    eval_seconds = WARMUP + signal.for_ + (window or 0)
    samples = int(eval_seconds // 60) + 1
    # For events the value is the increase in the window; for ANY the counter grows
    # by `value` per 5 minutes, which is exactly what the alert shows.
    return {
        "name": title,
        "interval": "1m",
        "input_series": _inputs(spec, signal, value, samples, eval_seconds, window),
        "alert_rule_test": [{
            "eval_time": units.format_duration(eval_seconds),
            "alertname": signals.alert_name(signal.name),
            "exp_alerts": _expected_for_window(spec, signal, value, threshold),
        }],
    }


def _expected_for_window(spec: Spec, signal: Signal, value: float,
                         threshold: Threshold) -> list[dict[str, Any]]:
    """Events thresholds with different windows see the same counter differently."""
    if not signal.definition.is_counter:
        return _expected(spec, signal, value)
    same_window = [t for t in signal.thresholds if (t.window or signals.ANY_WINDOW)
                   == (threshold.window or signals.ANY_WINDOW)]
    return _expected(spec, replace(signal, thresholds=tuple(same_window)), value)


def _baseline_case(spec: Spec, signal: Signal, usual: float | None, now: float,
                   title: str) -> dict[str, Any]:
    """Weeks of `usual` (None: no data at all), then the signal reads `now`."""
    history = int(signal.baseline_weeks * units.parse_duration("1w") // BASELINE_STEP)
    # The change happens at the first hourly evaluation after the history; an alert
    # fires at the first evaluation at least `for` later.
    hours_after = int(-(-signal.for_ // BASELINE_EVALUATION)) + 1
    recent = int(hours_after * BASELINE_EVALUATION // BASELINE_STEP) + 1
    base = _base_labels(spec, signal)
    found = fixture(signal.definition)
    name, extra, _ = found[0](Context(now, 1, 0, None))[0] if found is not None \
        else (signals.recorded_name(signal), {}, "")
    expected = []
    for t in signal.thresholds:
        if t.kind == BELOW_BASELINE and usual and crosses(t, 1 - now / usual):
            labels = _alert_labels(spec, signal, t)
            expected.append({
                "exp_labels": labels,
                "exp_annotations": signals.annotations(
                    spec, signal, t, humanize_value(signal.definition.unit, now,
                                                  signal.definition.currency),
                    lambda label, lab=labels: lab[label], templating.verbatim),
            })
    past = "_" if usual is None else repr(usual)
    return {
        "name": title,
        "interval": units.format_duration(BASELINE_STEP),
        "input_series": [{"series": _series_text(name, {**base, **extra}),
                          "values": f"{past}x{history - 1} {now!r}x{recent}"}],
        "alert_rule_test": [{
            "eval_time": units.format_duration(history * BASELINE_STEP + hours_after * BASELINE_EVALUATION),
            "alertname": signals.alert_name(signal.name),
            "exp_alerts": expected,
        }],
    }


def _baseline_cases(spec: Spec, signal: Signal, threshold: Threshold, label: str) -> list[dict[str, Any]]:
    """A drop beyond the threshold fires; a smaller drop, no history or a zero history do not."""
    fire, calm = case_values(signal, threshold)
    usual = 1000.0 if signal.definition.unit != "ratio" else 0.5
    return [
        _baseline_case(spec, signal, usual, usual * (1 - fire), f"{label}: fires"),
        _baseline_case(spec, signal, usual, usual * (1 - calm), f"{label}: stays silent"),
        _baseline_case(spec, signal, None, usual * (1 - fire),
                       f"{label}: stays silent without history"),
        _baseline_case(spec, signal, 0.0, 0.0, f"{label}: stays silent on zero data"),
    ]


def rule_groups_for(tests: list[dict[str, Any]],
                    groups: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The groups, unchanged, that define an alert `tests` check (recordings come with them),
    or one an escalation test names as the alert it escalates.

    Why the signal, escalation and baseline tests get rule files of their own: promtool
    evaluates every rule of its `rule_files` at every step of every test group, so the
    cost is rules x steps. The other groups cannot change what a signal's alert does (its
    alerts read only its own group's recordings; escalations read ALERTS), so evaluating
    them only costs minutes: a full `vigil check` took 5 minutes on two cores, most of it
    evaluating SLO, absent-data and monitoring rules under tests that never look at
    them. A dependency left out would make the firing cases fail, not pass; the full
    file is still checked by `promtool check rules` and loaded whole by the SLO and
    absent-data tests.
    """
    names = {check["alertname"] for test in tests for check in test["alert_rule_test"]}
    names |= {alert["exp_labels"]["escalated_alertname"] for test in tests
              for check in test["alert_rule_test"] for alert in check["exp_alerts"]
              if "escalated_alertname" in alert["exp_labels"]}
    return [group for group in groups if any(rule.get("alert") in names for rule in group["rules"])]


def _counter_resilience_cases(spec: Spec, signal: Signal, threshold: Threshold) -> list[dict[str, Any]]:
    """A counter reset and an exporter restart must not look like a burst of events."""
    found = fixture(signal.definition)
    if found is None:
        return []
    window = threshold.window or signals.ANY_WINDOW
    eval_seconds = WARMUP + signal.for_ + window
    samples = int(eval_seconds // 60) + 1
    first = found[0](Context(1.0, samples, eval_seconds, window))
    name, extra, _ = first[0]
    series = _series_text(name, {**_base_labels(spec, signal), **extra})
    half = samples // 2
    big = 1_000_000
    cases = [
        ("counter reset", f"{big}x{half} 0x{samples - half}"),
        ("exporter restart (series gone, back at its old value)",
         f"{big}x{half} {' '.join(['_'] * 3)} {big}x{samples - half - 3}"),
        ("exporter starts with a large total", " ".join(["_"] * half) + f" {big}x{samples - half}"),
    ]
    return [{
        "name": f"{signal.name} {threshold.severity}: {what} stays silent",
        "interval": "1m",
        "input_series": [{"series": series, "values": values}],
        "alert_rule_test": [{"eval_time": units.format_duration(eval_seconds),
                             "alertname": signals.alert_name(signal.name), "exp_alerts": []}],
    } for what, values in cases]


def _counter_series(spec: Spec, signal: Signal, threshold: Threshold) -> str:
    """The promtool series text of the counter a counted-events fixture feeds."""
    window = threshold.window or signals.ANY_WINDOW
    found = fixture(signal.definition)
    assert found is not None
    name, extra, _ = found[0](Context(1.0, 1, 0.0, window))[0]
    return _series_text(name, {**_base_labels(spec, signal), **extra})


def _boundary_cases(spec: Spec, signal: Signal, threshold: Threshold) -> list[dict[str, Any]]:
    """N-1 and N events stay silent and N+1 fires, with scrapes on evaluations and between.

    After a full window of a steady counter, one event arrives per scrape from N-1 to
    N+1, each count evaluated in turn. promtool evaluates on the minute; the second
    layout scrapes 30 s after each evaluation (input every 30 s, every other one
    missing). There `increase` extrapolates both ends of the window (N reads N x 60/59)
    and fired on the Nth event; the exact count does not.
    """
    window = threshold.window
    count = threshold.value
    if (fixture(signal.definition) is None or window is None or count < 1 or count != int(count)
            or signal.for_ + 180 > window):
        return []
    first = int(window // 60) + 1  # the minute N-1 is reached: a full window after the start
    steady = int((window + signal.for_) // 60) + 4  # how long N+1 then stays
    levels = [1000.0] * first + [1000 + count - 1, 1000 + count] + [1000 + count + 1] * steady
    series = _counter_series(spec, signal, threshold)
    cases = []
    for layout, interval, values, lag in (
        ("scraped on the evaluations", "1m", [repr(v) for v in levels], 0),
        ("scraped 30s after the evaluations", "30s",
         [x for v in levels for x in ("_", repr(v))], 60),
    ):
        checks = [(first, count - 1), (first + 1, count), (first + 2, count + 1)]
        cases.append({
            "name": f"{signal.name} {threshold.severity} ({threshold.text}): {count - 1:g}, "
                    f"{count:g} and {count + 1:g} events, {layout}",
            "interval": interval,
            "input_series": [{"series": series, "values": " ".join(values)}],
            "alert_rule_test": [{
                "eval_time": units.format_duration(minute * 60 + lag + (
                    signal.for_ if events > count else 0)),
                "alertname": signals.alert_name(signal.name),
                "exp_alerts": _expected_for_window(spec, signal, events, threshold),
            } for minute, events in checks],
        })
    return cases


def _gap_cases(spec: Spec, signal: Signal, threshold: Threshold) -> list[dict[str, Any]]:
    """An event that happened while no scrape came through fires at the first scrape after.

    For gaps of 4 and 6 minutes and of the stated maximum, ANY_MAX_GAP: silent just
    before the first scrape after the gap, firing from it (after `for`) and still
    firing ANY_WINDOW - ANY_MAX_GAP later.
    """
    hold = ANY_WINDOW - ANY_MAX_GAP
    if fixture(signal.definition) is None or signal.for_ > hold:
        return []
    series = _counter_series(spec, signal, threshold)
    before = 2  # minutes of data before the gap
    cases = []
    for gap in sorted({4, 6, int(ANY_MAX_GAP // 60)}):
        after = int(hold // 60) + 2
        values = f"3x{before} {' '.join(['_'] * (gap - 1))} 4x{after}"
        seen = (before + gap) * 60.0
        fired = _expected_for_window(spec, signal, 1.0, threshold)
        checks = [(seen - 30, []), (seen + signal.for_, fired), (seen + hold, fired)]
        cases.append({
            "name": f"{signal.name} {threshold.severity} ({threshold.text}): an event during a "
                    f"{gap}m scrape gap",
            "interval": "1m",
            "input_series": [{"series": series, "values": values}],
            "alert_rule_test": [{"eval_time": units.format_duration(at),
                                 "alertname": signals.alert_name(signal.name),
                                 "exp_alerts": exp} for at, exp in checks],
        })
    return cases


def _failed_attempt_cases(spec: Spec, signal: Signal, threshold: Threshold) -> list[dict[str, Any]]:
    """A failed attempt lasts until its timeout; that duration must not read as the signal."""
    if signal.definition.source != VIGIL or signal.name not in FAILED_ATTEMPTS or threshold.kind != ABOVE:
        return []
    fire, _ = case_values(signal, threshold)
    eval_seconds = WARMUP + signal.for_
    samples = int(eval_seconds // 60) + 1
    base = _base_labels(spec, signal)
    series = FAILED_ATTEMPTS[signal.name](Context(fire, samples, eval_seconds, None))
    return [{
        "name": f"{signal.name} {threshold.severity} ({threshold.text}): a failed attempt "
                "stays silent",
        "interval": "1m",
        "input_series": [{"series": _series_text(name, {**base, **extra}), "values": values}
                         for name, extra, values in series],
        "alert_rule_test": [{"eval_time": units.format_duration(eval_seconds),
                             "alertname": signals.alert_name(signal.name), "exp_alerts": []}],
    }]


def signal_tests(spec: Spec) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """(regular cases, baseline cases): baselines need weeks of history at a coarser step."""
    regular, baseline = [], []
    for signal in spec.signals.values():
        if not signal.enabled:
            continue
        for threshold in signal.thresholds:
            if threshold.predictive:
                continue
            fire, calm = case_values(signal, threshold)
            label = f"{signal.name} {threshold.severity} ({threshold.text})"
            if threshold.kind == BELOW_BASELINE:
                baseline.extend(_baseline_cases(spec, signal, threshold, label))
                continue
            regular.append(_signal_case(spec, signal, threshold, fire, f"{label}: fires after for"))
            regular.append(_signal_case(spec, signal, threshold, calm, f"{label}: stays silent"))
            if signal.definition.is_counter and threshold.kind != ANY:
                regular.extend(_counter_resilience_cases(spec, signal, threshold))
                regular.extend(_boundary_cases(spec, signal, threshold))
            if signal.definition.is_counter and threshold.kind == ANY:
                regular.extend(_gap_cases(spec, signal, threshold))
            regular.extend(_failed_attempt_cases(spec, signal, threshold))
    return regular, baseline


def escalation_tests(spec: Spec) -> list[dict[str, Any]]:
    """Leave one alert of each escalating severity firing, and watch the levels arrive."""
    tests = []
    for severity in spec.severities.values():
        if not severity.escalation:
            continue
        found = next(((s, t) for s in spec.signals.values()
                      if fixture(s.definition) is not None and s.enabled
                      and not s.definition.is_counter
                      for t in s.thresholds if t.severity == severity.name
                      and t.kind in (ABOVE, BELOW)), None)
        if found is None:
            continue
        signal, threshold = found
        fire, _ = case_values(signal, threshold)
        # A gauge fixture crosses at once and a rate within two minutes, so the alert
        # fires between `for` and `for` + 2m; checks keep clear of that uncertainty.
        fires_at = signal.for_
        last = severity.escalation[-1].after
        eval_seconds = fires_at + last + 300
        samples = int(eval_seconds // 60) + 1
        checks = []
        for step in severity.escalation:
            before = fires_at + step.after - 120
            after = fires_at + step.after + 300
            checks.append(_escalation_check(spec, signal, fire, severity, before))
            checks.append(_escalation_check(spec, signal, fire, severity, after))
        tests.append({
            "name": f"escalation of {severity.name} alerts ({signal.name})",
            "interval": "1m",
            "input_series": _inputs(spec, signal, fire, samples, eval_seconds, None),
            "alert_rule_test": checks,
        })
    return tests


def _escalation_check(spec: Spec, signal: Signal, value: float, severity: Severity,
                      at: float) -> dict[str, Any]:
    """At time `at`, every level whose delay has passed since the alert fired is raised."""
    fires_at = signal.for_
    original = [a for a in _expected(spec, signal, value)
                if a["exp_labels"]["severity"] == severity.name]
    rules = {r["labels"]["escalation_level"]: r for g in escalation.groups(spec) for r in g["rules"]
             if r["labels"]["severity"] == severity.name}
    expected = []
    for step in severity.escalation:
        if at - fires_at < step.after:
            continue
        for alert in original:
            labels = {**alert["exp_labels"], "escalated_alertname": signals.alert_name(signal.name),
                      "escalation_level": str(step.level)}
            annotations = {k: v.replace("{{ $labels.escalated_alertname }}", labels["escalated_alertname"])
                           for k, v in rules[str(step.level)]["annotations"].items()}
            expected.append({"exp_labels": labels, "exp_annotations": annotations})
    return {"eval_time": units.format_duration(at), "alertname": escalation.ALERT_NAME,
            "exp_alerts": expected}
