"""deploy/prometheus/ecrbot-rules.yaml with Prometheus's own promtool (Debian's `prometheus`
package, installed by scripts/install-deps): the rules load, and each alert fires on synthetic
series where it should and stays silent where it shouldn't
(tests/data/prometheus/ecrbot-rules_test.yaml)."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]
RULES = ROOT / "deploy" / "prometheus" / "ecrbot-rules.yaml"
UNIT_TESTS = ROOT / "tests" / "data" / "prometheus" / "ecrbot-rules_test.yaml"


def promtool(*args: str) -> subprocess.CompletedProcess[str]:
    tool = shutil.which("promtool")
    assert tool, "promtool is missing: scripts/install-deps installs Debian's prometheus"
    return subprocess.run([tool, *args], capture_output=True, text=True, timeout=120, check=False)


def alerts() -> list[str]:
    groups = yaml.safe_load(RULES.read_text())["groups"]
    return [rule["alert"] for group in groups for rule in group["rules"]]


def test_promtool_checks_the_rules() -> None:
    checked = promtool("check", "rules", str(RULES))
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert f"SUCCESS: {len(alerts())} rules found" in checked.stdout


def test_each_alert_fires_and_stays_silent_on_synthetic_series() -> None:
    tested = promtool("test", "rules", str(UNIT_TESTS))
    assert tested.returncode == 0, tested.stdout + tested.stderr
    assert "SUCCESS" in tested.stdout


def test_every_alert_has_a_firing_and_a_silent_case() -> None:
    cases = [
        case
        for test in yaml.safe_load(UNIT_TESTS.read_text())["tests"]
        for case in test["alert_rule_test"]
    ]
    for alert in alerts():
        mine = [case for case in cases if case["alertname"] == alert]
        assert any(case["exp_alerts"] for case in mine), f"{alert} is never seen firing"
        assert any(not case["exp_alerts"] for case in mine), f"{alert} is never seen silent"
    expected = {"EcrbotQueueStuck", "EcrbotNoWorkerHeartbeat", "EcrbotPushFailureRate"}
    expected |= {"EcrbotSlackCallsDropped", "EcrbotScheduledReportMissed"}
    assert expected <= set(alerts())


def test_a_rule_that_never_fires_fails_the_unit_tests(tmp_path: Path) -> None:
    # The harness itself: promtool must notice when an alert's expression stops matching.
    broken = tmp_path / "deploy" / "prometheus"
    broken.mkdir(parents=True)
    text = RULES.read_text().replace("max(ecrbot_queue_depth) > 0", "max(ecrbot_queue_depth) > 99")
    (broken / "ecrbot-rules.yaml").write_text(text)
    tests = tmp_path / "tests" / "data" / "prometheus"
    tests.mkdir(parents=True)
    shutil.copy(UNIT_TESTS, tests / UNIT_TESTS.name)
    tested = promtool("test", "rules", str(tests / UNIT_TESTS.name))
    assert tested.returncode != 0 and "EcrbotQueueStuck" in tested.stdout + tested.stderr
