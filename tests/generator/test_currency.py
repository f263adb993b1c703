"""Money signals are in the spec's currency: dashboards, alert descriptions and reports."""

from __future__ import annotations

import json
import re

import pytest

from generator import catalogue, rules
from generator.dashboards import dashboards
from generator.loader import SpecError, load_spec
from generator.report.build import show
from generator.report.figures import Figure
from generator.report.html import _figures
from tests.generator.conftest import ROOT


def _revenue_panel(files: dict[str, str]) -> dict:
    business = json.loads(files["dashboards/business.json"])
    panels = [p for row in business["panels"] for p in [row, *row.get("panels", [])]]
    return next(p for p in panels if "daily_revenue" in json.dumps(p.get("targets", []))
                and p.get("type") != "row")


def _revenue_descriptions(files: dict[str, str]) -> list[str]:
    rules = files["alert_rules/vigil.rules.yml"] + files["alert_rules/tests/baseline.rules.yml"]
    return re.findall(r"description: (Daily revenue is .*)", rules)


def test_default_is_usd():
    files = {p: (ROOT / p).read_text() for p in (
        "dashboards/business.json", "alert_rules/vigil.rules.yml",
        "alert_rules/tests/baseline.rules.yml")}  # the committed outputs of slo/spec.yaml
    assert _revenue_panel(files)["fieldConfig"]["defaults"]["unit"] == "currencyUSD"
    assert all("}} USD" in d for d in _revenue_descriptions(files))


def test_the_spec_sets_the_currency_of_every_money_signal(write_spec):
    def change(data):
        data["currency"] = "EUR"
    spec = load_spec(write_spec(change))
    files = {**rules.outputs(spec), **{f"dashboards/{name}.json": json.dumps(board)
                                       for name, board in dashboards(spec).items()}}
    assert _revenue_panel(files)["fieldConfig"]["defaults"]["unit"] == "currencyEUR"
    descriptions = _revenue_descriptions(files)
    assert descriptions and all("humanize }} EUR" in d for d in descriptions)
    # the generated promtool tests expect what the template renders
    expected = re.findall(r"description: (Daily revenue is \d\S* EUR,)",
                          files["alert_rules/tests/baseline.test.yml"])
    assert expected
    assert "USD" not in json.dumps(_revenue_panel(files))


def test_a_signal_may_have_its_own(write_spec):
    def change(data):
        data["currency"] = "EUR"
        data["signals"]["daily_revenue"]["currency"] = "JPY"
    spec = load_spec(write_spec(change))
    assert spec.signals["daily_revenue"].definition.grafana_unit == "currencyJPY"


@pytest.mark.parametrize("path, value, message", [
    ("currency", "EURO", "currency: expected one of USD, EUR"),
    ("currency", "usd", "currency: expected one of USD"),
    ("signals.cpu_usage.currency", "EUR",
     "signals.cpu_usage.currency: only a signal in `currency` has a currency"),
])
def test_a_currency_grafana_cannot_show_is_refused(write_spec, path, value, message):
    def change(data):
        node = data
        *parents, last = path.split(".")
        for key in parents:
            node = node[key]
        node[last] = value
    with pytest.raises(SpecError) as caught:
        load_spec(write_spec(change))
    assert message in caught.value.render()


def test_every_currency_is_an_iso_code_with_a_grafana_unit():
    assert catalogue.DEFAULT_CURRENCY in catalogue.CURRENCIES
    assert all(re.fullmatch(r"[A-Z]{3}", c) for c in catalogue.CURRENCIES)


def test_the_report_writes_money_in_its_currency():
    assert show(1250.5, "currency", "EUR") == "1,250.50 EUR"
    assert show(1250.5, "currency") == "1,250.50 USD"
    html = _figures([Figure("Revenue", "currency", 1000.0, 800.0, better="higher",
                            currency="GBP")])
    assert "1,000.00 GBP" in html and "800.00 GBP" in html and "+200.00 GBP" in html
    assert "$" not in html
