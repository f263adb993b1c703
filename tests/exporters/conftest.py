"""Shared helpers for exporter tests: free ports, scraping, throwaway certificates.

Exposed as fixtures that return plain functions, because test directories
here are not importable packages (a ``tests/exporters/http`` package would
shadow the standard library's ``http``).
"""

from __future__ import annotations

import socket
from collections.abc import Callable
from pathlib import Path

import pytest
import requests
from prometheus_client.parser import text_string_to_metric_families

from generator.demo.certs import self_signed


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """``{(sample name, sorted label pairs): value}`` from an exposition."""
    out = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            out[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return out


def _scrape(url: str, **kwargs: object) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    kwargs.setdefault("timeout", 5)
    response = requests.get(url, **kwargs)  # type: ignore[arg-type]
    assert response.status_code == 200, response.text
    return _samples(response.text)


@pytest.fixture
def free_port() -> Callable[[], int]:
    return _free_port


@pytest.fixture
def scrape() -> Callable[..., dict]:
    """``scrape(url, **requests_kwargs)``: GET, assert 200, return parsed samples."""
    return _scrape


@pytest.fixture
def parse_samples() -> Callable[[str], dict]:
    return _samples


@pytest.fixture
def make_cert() -> Callable[..., tuple[Path, Path, float]]:
    return self_signed
