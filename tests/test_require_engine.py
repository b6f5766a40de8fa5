"""DASHBOARD_REQUIRE_ENGINE=1 (set by .ci/run) turns a missing engine into a failure."""

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
ONE_ENGINE_TEST = "tests/test_client_engine.py::test_it_negotiates_with_the_real_daemon"


def run_pytest(require: str) -> subprocess.CompletedProcess:
    env = {
        **os.environ,
        "DASHBOARD_TEST_DOCKER_HOST": "unix:///run/dl/no-engine-here.sock",
        "DASHBOARD_TEST_ENGINES": "docker",
        "DASHBOARD_REQUIRE_ENGINE": require,
    }
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", ONE_ENGINE_TEST],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_a_missing_engine_fails_the_run_when_required():
    result = run_pytest("1")
    assert result.returncode == 1, result.stdout
    assert "no lab docker engine at unix:///run/dl/no-engine-here.sock" in result.stdout


def test_a_missing_engine_skips_engine_tests_otherwise():
    result = run_pytest("")
    assert result.returncode == 0, result.stdout
    assert "1 skipped" in result.stdout
