"""The postgres exporter as a process: database outages, concurrency, config errors."""

from __future__ import annotations

import statistics
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import requests

from exporters.common.config import ConfigError, ConfigNode, load_config
from exporters.postgres.exporter import parse_settings
from tests.exporters.postgres.helpers import ROOT, ExporterProcess, run_cli, sample, wait_for
from tests.pg import PgCluster, running_cluster

pytestmark = pytest.mark.slow


def write_config(path: Path, cluster: PgCluster, **extra: str) -> Path:
    lines = [
        f'dsn: "{cluster.dsn(tcp=True)}"',
        "password: {env: VIGIL_PG_PASSWORD}",
        "interval: 1s",
        "timeout: 300ms",
        "connect_timeout: 1s",
        "backoff_max: 500ms",
        *(f"{key}: {value}" for key, value in extra.items()),
    ]
    path.write_text("\n".join(lines) + "\n")
    return path


def test_metrics_keep_answering_while_the_database_is_down(tmp_path: Path) -> None:
    with running_cluster() as cluster:
        secret_file = tmp_path / "pg-password"
        secret_file.write_text(cluster.password + "\n")
        config = write_config(tmp_path / "postgres.yml", cluster)
        env = {"VIGIL_PG_PASSWORD_FILE": str(secret_file)}
        with ExporterProcess("postgres", config, env=env) as exporter:
            def scraped(up: float, series_present: bool) -> bool:
                # Each query group runs on its own schedule, so after a stop each group's
                # series go at that group's next run: wait for two groups, not one.
                response = exporter.scrape()
                assert response.status_code == 200
                text = response.text
                present = (sample(text, "vigil_pg_connections", state="idle") is not None,
                           sample(text, "vigil_pg_replication_lag_seconds") is not None)
                return (sample(text, "vigil_pg_up") == up
                        and present == (series_present, series_present))

            wait_for(lambda: scraped(1, True), 10, 0.1, "never came up")

            cluster.stop("fast")
            wait_for(lambda: scraped(0, False), 10, 0.1, "up did not drop to 0")
            text = exporter.scrape().text
            assert sample(text, "vigil_pg_collector_success", collector="connections") == 0
            # No stale values: each group's series go when its own next run fails.
            wait_for(lambda: sample(exporter.scrape().text,
                                    "vigil_pg_replication_lag_seconds") is None,
                     10, 0.1, "a stale replication lag was still served")
            # Still down a little later: the process neither crashed nor hung.
            time.sleep(1.0)
            assert exporter.scrape().status_code == 200

            cluster.start()
            wait_for(lambda: scraped(1, True), 10, 0.1, "did not recover after restart")
            text = exporter.scrape().text
            assert sample(text, "vigil_pg_collector_success", collector="connections") == 1
            assert exporter.proc.poll() is None
            log = exporter.log()
        assert cluster.password not in log
        assert "cannot connect" in log


def test_fifty_concurrent_scrapes_are_served(primary: PgCluster, tmp_path: Path) -> None:
    config = write_config(tmp_path / "postgres.yml", primary)
    env = {"VIGIL_PG_PASSWORD": primary.password}
    with ExporterProcess("postgres", config, env=env) as exporter:
        wait_for(lambda: sample(exporter.scrape().text, "vigil_pg_up") == 1, 10, 0.1)
        barrier = threading.Barrier(50)

        def one_scrape(_: int) -> tuple[int, float, str]:
            barrier.wait(10)
            started = time.monotonic()
            response = requests.get(exporter.url + "/metrics", timeout=15)
            return response.status_code, time.monotonic() - started, response.text

        with ThreadPoolExecutor(max_workers=50) as pool:
            results = list(pool.map(one_scrape, range(50)))
        assert [status for status, _, _ in results] == [200] * 50
        assert all(sample(text, "vigil_pg_up") == 1 for _, _, text in results)
        latencies = sorted(latency for _, latency, _ in results)
        print(f"50 concurrent scrapes: median {statistics.median(latencies) * 1000:.1f} ms,"
              f" max {latencies[-1] * 1000:.1f} ms")
        # Only one connection to the server, however many scrapes.
        assert primary.scalar(
            "SELECT count(*) FROM pg_stat_activity"
            " WHERE application_name = 'vigil-postgres-exporter'"
        ) == 1


def test_config_error_exits_2_and_names_the_key(tmp_path: Path) -> None:
    config = tmp_path / "postgres.yml"
    config.write_text('dsn: "host=127.0.0.1 dbname=postgres"\nintervall: 15s\n')
    result = run_cli(["exporter", "postgres", "--config", str(config)])
    assert result.returncode == 2
    assert f"{config}: intervall: unknown key" in result.stderr


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        ({}, "postgres.yml: dsn: required key is missing"),
        ({"dsn": "host=x password='never-shown"},
         "postgres.yml: dsn: not a valid libpq connection string"),
        ({"dsn": "host=x", "password": {"env": "VIGIL_TEST_UNSET_VARIABLE"}},
         "postgres.yml: password: environment variable VIGIL_TEST_UNSET_VARIABLE"),
        ({"dsn": "host=x", "interval": "10s", "timeout": "30s"},
         "postgres.yml: timeout: timeout (30s) must not exceed interval (10s)"),
        ({"dsn": "host=x", "interval": "soon"}, "postgres.yml: interval: expected a duration"),
        ({"dsn": "host=x", "interval": float("inf")},
         "postgres.yml: interval: expected a finite duration, got inf"),
        ({"dsn": "host=x", "timeout": float("nan")},
         "postgres.yml: timeout: expected a finite duration, got nan"),
        ({"dsn": "host=x", "interval": "1ms"},
         "postgres.yml: interval: expected a duration from 1s to 24h, got '1ms'"),
        ({"dsn": "host=x", "connect_timeout": "100000d"},
         "postgres.yml: connect_timeout: expected a duration from 1s to 5m, got '100000d'"),
        ({"dsn": "host=x", "backoff_max": 0}, "postgres.yml: backoff_max: expected a positive"),
    ],
)
def test_bad_config_is_refused_with_file_and_key(data: dict, expected: str) -> None:
    with pytest.raises(ConfigError) as caught:
        parse_settings(ConfigNode(data, "postgres.yml"))
    assert str(caught.value).startswith(expected)
    assert "never-shown" not in str(caught.value)


@pytest.mark.parametrize(
    ("text", "message"),
    [("interval: .inf\n", "interval: expected a finite duration, got inf"),
     ("interval: 15s\ntimeout: 1s\ninterval: 1s\n",
      "line 4: invalid YAML: key 'interval' appears twice in the same mapping")],
)
def test_degenerate_config_exits_2_naming_the_key(tmp_path: Path, text: str,
                                                  message: str) -> None:
    config = tmp_path / "postgres.yml"
    config.write_text('dsn: "host=127.0.0.1 dbname=postgres"\n' + text)
    result = run_cli(["exporter", "postgres", "--config", str(config)])
    assert result.returncode == 2, result.stderr
    assert f"{config}: {message}" in result.stderr
    assert "Traceback" not in result.stderr


def test_password_comes_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("VIGIL_PG_PASSWORD", "from-env")
    settings = parse_settings(
        ConfigNode({"dsn": "host=x", "password": {"env": "VIGIL_PG_PASSWORD"}}, "postgres.yml")
    )
    assert settings.password == "from-env"
    assert settings.interval == 15 and settings.timeout == 5


def test_example_config_is_valid(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("VIGIL_PG_PASSWORD", "example")
    settings = parse_settings(load_config(ROOT / "exporters/examples/postgres.yml"))
    assert settings.password == "example"
    assert "vigil_monitor" in settings.dsn
