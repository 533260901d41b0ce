"""deploy/helm/ecrbot, linted and rendered by Helm's own engine (Helm v4's Go library, shipped
as a C library in the `helm-python-sdk` wheel): both shapes, parsed and checked."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from helm_python import _native, chart
from helm_python.errors import HelmValuesError

from bot.config import load_catalog

ROOT = Path(__file__).resolve().parents[2]
CHART = ROOT / "deploy" / "helm" / "ecrbot"
RULES = ROOT / "deploy" / "prometheus" / "ecrbot-rules.yaml"
MONITORING = "monitoring.coreos.com/v1"
SCALED = {"shape": "scaled"}

Doc = dict[str, Any]


def render(values: Doc | None = None, *, api_versions: tuple[str, ...] = ()) -> list[Doc]:
    """`helm template ecrbot CHART -n ecrbot [--api-versions ...]`, parsed."""
    opts: Doc = {"name": "ecrbot", "namespace": "ecrbot", "is_install": True}
    with chart.Chart.load(CHART) as loaded:
        if api_versions:
            # Chart.render doesn't pass `api_versions` on, but the library's render options take
            # it (helm-c-sdk's RenderOptions, the same field as `helm template --api-versions`).
            opts["api_versions"] = list(api_versions)
            raw = _native.call_string(
                "helm_render", loaded._raw(), json.dumps(values or {}), json.dumps(opts)
            )
            files: dict[str, str] = json.loads(raw)
        else:
            files = loaded.render(values=values or {}, **opts)
    docs = []
    for name, text in files.items():
        if name.endswith(".yaml"):
            docs += [doc for doc in yaml.safe_load_all(text) if doc]
    return docs


def kinds(docs: list[Doc]) -> list[tuple[str, str]]:
    return sorted((d["kind"], d["metadata"]["name"]) for d in docs)


def one(docs: list[Doc], kind: str, name: str) -> Doc:
    [doc] = [d for d in docs if d["kind"] == kind and d["metadata"]["name"] == name]
    return doc


def pod(docs: list[Doc], name: str) -> Doc:
    spec: Doc = one(docs, "Deployment", name)["spec"]["template"]["spec"]
    return spec


def container(spec: Doc, name: str) -> Doc:
    found: Doc
    [found] = [c for c in spec["containers"] if c["name"] == name]
    return found


def env(c: Doc) -> dict[str, Doc]:
    return {entry["name"]: entry for entry in c.get("env", [])}


def readme_variables() -> set[str]:
    section = (ROOT / "README.md").read_text().split("\n## Configuration", 1)[1]
    return set(re.findall(r"`([A-Z][A-Z0-9_]+)`", section.split("\n## ", 1)[0]))


@pytest.fixture(scope="module")
def single() -> list[Doc]:
    return render()


@pytest.fixture(scope="module")
def scaled() -> list[Doc]:
    return render(SCALED)


def ecrbot_containers(docs: list[Doc]) -> Iterator[Doc]:
    for doc in docs:
        if doc["kind"] in ("Deployment", "Job"):
            for c in doc["spec"]["template"]["spec"]["containers"]:
                if c["image"].startswith("ecrbot:"):
                    yield c


# -- lint and schema -------------------------------------------------------------------------


@pytest.mark.parametrize("values", [{}, SCALED], ids=["single", "scaled"])
def test_strict_lint_is_clean(values: Doc) -> None:
    report = chart.lint(CHART, values, strict=True, namespace="ecrbot")
    assert report["errors"] == []
    # Strict: a warning fails as an error would; only "icon is recommended" (info) remains.
    assert [m for m in report["messages"] if m["severity"] >= 2] == []


@pytest.mark.parametrize(
    ("bad", "where"),
    [
        ({"shape": "sideways"}, "/shape"),
        ({"worker": {"replicas": 0}}, "/worker/replicas"),
        ({"engine": {"image": "docker:27"}}, "/engine/image"),
        ({"extraEnv": {"SLACK_BOT_TOKEN": "xoxb-REPLACE-ME"}}, "SLACK_BOT_TOKEN"),
        ({"existingSecret": ""}, "/existingSecret"),
        ({"replicaCount": 3}, "replicaCount"),
    ],
)
def test_the_schema_rejects_a_bad_value(bad: Doc, where: str) -> None:
    report = chart.lint(CHART, bad, strict=True)
    assert any(where in e for e in report["errors"]), report["errors"]
    with pytest.raises(HelmValuesError, match=re.escape(where)):
        render(bad)


# -- the two shapes --------------------------------------------------------------------------


def test_single_is_one_bot_pod_with_its_engine_and_volume(single: list[Doc]) -> None:
    assert kinds(single) == [
        ("ConfigMap", "ecrbot-catalog"),
        ("Deployment", "ecrbot"),
        ("NetworkPolicy", "ecrbot"),
        ("PersistentVolumeClaim", "ecrbot-data"),
        ("Service", "ecrbot"),
        ("ServiceAccount", "ecrbot"),
    ]
    deployment = one(single, "Deployment", "ecrbot")
    assert deployment["spec"]["replicas"] == 1
    assert deployment["spec"]["strategy"] == {"type": "Recreate"}
    spec = pod(single, "ecrbot")
    assert [c["name"] for c in spec["containers"]] == ["ecrbot", "docker"]
    variables = env(container(spec, "ecrbot"))
    assert variables["ECRBOT_DATABASE_URL"]["value"] == "sqlite:////var/lib/ecrbot/ecrbot.db"
    [data] = [v for v in spec["volumes"] if v["name"] == "data"]
    assert data["persistentVolumeClaim"]["claimName"] == "ecrbot-data"
    assert "ECRBOT_WORKER_BACKEND" not in variables


def test_scaled_is_bot_replicas_workers_with_engines_and_a_hook_migration(
    scaled: list[Doc],
) -> None:
    assert {k for k, _ in kinds(scaled)} == {
        "ConfigMap",
        "Deployment",
        "Job",
        "NetworkPolicy",
        "PodDisruptionBudget",
        "Service",
        "ServiceAccount",
    }
    bot = one(scaled, "Deployment", "ecrbot")
    assert bot["spec"]["replicas"] >= 2 and bot["spec"]["strategy"]["type"] == "RollingUpdate"
    bot_pod = pod(scaled, "ecrbot")
    assert [c["name"] for c in bot_pod["containers"]] == ["ecrbot"]  # no engine where Slack is
    assert {v["name"] for v in bot_pod["volumes"]} == {"catalog", "work", "scratch"}
    worker_pod = pod(scaled, "ecrbot-worker")
    assert [c["name"] for c in worker_pod["containers"]] == ["worker", "docker"]
    worker = container(worker_pod, "worker")
    assert worker["args"][:3] == ["worker", "--concurrency", "2"]
    assert worker_pod["terminationGracePeriodSeconds"] >= 600
    shared = ("ECRBOT_WORKER_BACKEND", "ECRBOT_WORKERS", "ECRBOT_BROKER_URL", "ECRBOT_DATABASE_URL")
    bot_env, worker_env = env(container(bot_pod, "ecrbot")), env(worker)
    for name in shared:
        assert bot_env[name] == worker_env[name], name
    assert bot_env["ECRBOT_WORKER_BACKEND"]["value"] == "celery"
    assert "DOCKER_HOST" not in bot_env
    assert not [d for d in scaled if d["kind"] == "PersistentVolumeClaim"]
    budgets = {
        d["metadata"]["name"]: d["spec"] for d in scaled if d["kind"] == "PodDisruptionBudget"
    }
    assert budgets == {
        "ecrbot": {"minAvailable": 1, "selector": bot["spec"]["selector"]},
        "ecrbot-worker": {
            "maxUnavailable": 1,
            "selector": one(scaled, "Deployment", "ecrbot-worker")["spec"]["selector"],
        },
    }


def test_the_migration_is_a_pre_upgrade_hook_job(scaled: list[Doc]) -> None:
    job = one(scaled, "Job", "ecrbot-db-upgrade")
    hooks = job["metadata"]["annotations"]
    assert set(hooks["helm.sh/hook"].split(",")) == {"pre-install", "pre-upgrade"}
    assert "before-hook-creation" in hooks["helm.sh/hook-delete-policy"]
    [c] = job["spec"]["template"]["spec"]["containers"]
    assert c["args"] == ["db", "upgrade"]
    # At pre-install the chart's ServiceAccount doesn't exist yet: the Job mustn't need it.
    assert "serviceAccountName" not in job["spec"]["template"]["spec"]
    ref = env(c)["ECRBOT_DATABASE_URL"]["valueFrom"]["secretKeyRef"]
    assert ref == {"name": "ecrbot", "key": "ECRBOT_DATABASE_URL"}


@pytest.mark.parametrize("values", [{}, SCALED], ids=["single", "scaled"])
def test_engines_answer_on_a_shared_unix_socket_never_tcp(values: Doc) -> None:
    docs = render(values)
    text = json.dumps(docs)
    assert "tcp://" not in text and "2375" not in text and "2376" not in text
    builders = [d for d in docs if d["kind"] == "Deployment"]
    engines = 0
    for deployment in builders:
        spec = deployment["spec"]["template"]["spec"]
        names = [c["name"] for c in spec["containers"]]
        if "docker" not in names:
            continue
        engines += 1
        engine = container(spec, "docker")
        builder = next(c for c in spec["containers"] if c["name"] != "docker")
        assert "ports" not in engine and engine["args"][0] == "dockerd"
        [host] = [a.split("=", 1)[1] for a in engine["args"] if a.startswith("--host=")]
        assert host.startswith("unix:///") and env(builder)["DOCKER_HOST"]["value"] == host
        socket_dir = str(Path(host.removeprefix("unix://")).parent)
        mounts = {
            c["name"]: {m["mountPath"]: m["name"] for m in c["volumeMounts"]}
            for c in spec["containers"]
        }
        volume = mounts["docker"][socket_dir]
        assert mounts[builder["name"]][socket_dir] == volume  # the same volume in both
        [shared] = [v for v in spec["volumes"] if v["name"] == volume]
        assert "emptyDir" in shared
        assert "--group=10001" in engine["args"]  # the non-root bot user's group may use it
    assert engines == 1


@pytest.mark.parametrize("values", [{}, SCALED], ids=["single", "scaled"])
def test_probes_and_resources(values: Doc) -> None:
    docs = render(values)
    for deployment in [d for d in docs if d["kind"] == "Deployment"]:
        for c in deployment["spec"]["template"]["spec"]["containers"]:
            assert c["resources"]["limits"]["memory"], c["name"]
            assert c["resources"]["requests"]["memory"], c["name"]
            assert "readinessProbe" in c, c["name"]
            if c["name"] == "docker":
                continue
            ports = {p["name"]: p["containerPort"] for p in c["ports"]}
            assert ports == {"http": 3000}
            assert c["livenessProbe"]["httpGet"] == {"path": "/healthz", "port": "http"}
            assert c["startupProbe"]["httpGet"] == {"path": "/healthz", "port": "http"}
            assert c["readinessProbe"]["httpGet"] == {"path": "/readyz", "port": "http"}
            assert env(c)["PORT"]["value"] == "3000"


@pytest.mark.parametrize("values", [{}, SCALED], ids=["single", "scaled"])
def test_secrets_by_existing_name_and_every_variable_is_read(values: Doc) -> None:
    known = readme_variables()
    docs = render({**values, "existingSecret": "team-ecrbot"})
    assert not [d for d in docs if d["kind"] == "Secret"]
    for c in ecrbot_containers(docs):
        assert c["securityContext"]["runAsNonRoot"] is True
        assert c["securityContext"]["readOnlyRootFilesystem"] is True
        for name, entry in env(c).items():
            assert name in known, f"{c['name']} sets {name}, which the bot does not read"
            if re.search(r"TOKEN|SECRET|PASSWORD|_URL$", name) and name != "ECRBOT_DATABASE_URL":
                assert entry["valueFrom"]["secretKeyRef"]["name"] == "team-ecrbot", name
            if "valueFrom" in entry:
                assert entry["valueFrom"]["secretKeyRef"]["name"] == "team-ecrbot", name


def test_irsa_annotation_on_the_service_account_the_pods_use() -> None:
    arn = "arn:aws:iam::123456789012:role/ecrbot"
    docs = render({**SCALED, "serviceAccount": {"irsaRoleArn": arn}})
    account = one(docs, "ServiceAccount", "ecrbot")
    assert account["metadata"]["annotations"]["eks.amazonaws.com/role-arn"] == arn
    assert account["automountServiceAccountToken"] is False
    for name in ("ecrbot", "ecrbot-worker"):
        assert pod(docs, name)["serviceAccountName"] == "ecrbot"


# -- the catalog -----------------------------------------------------------------------------


def test_the_catalog_is_rendered_valid_where_ecrbot_config_points(
    single: list[Doc], tmp_path: Path
) -> None:
    config_map = one(single, "ConfigMap", "ecrbot-catalog")
    spec = pod(single, "ecrbot")
    path = Path(env(container(spec, "ecrbot"))["ECRBOT_CONFIG"]["value"])
    [mount] = [m for m in container(spec, "ecrbot")["volumeMounts"] if m["name"] == "catalog"]
    assert path.parent == Path(mount["mountPath"]) and mount["readOnly"] is True
    [volume] = [v for v in spec["volumes"] if v["name"] == "catalog"]
    assert volume["configMap"]["name"] == "ecrbot-catalog"
    written = tmp_path / path.name
    written.write_text(config_map["data"][path.name])
    catalog = load_catalog(written)  # the bot validates it at start: so does this test
    assert catalog.registry_spec.account_id == "123456789012"


def test_a_catalog_change_rolls_every_pod() -> None:
    def checksums(values: Doc) -> dict[str, str]:
        docs = render({**SCALED, **values})
        return {
            d["metadata"]["name"]: d["spec"]["template"]["metadata"]["annotations"][
                "checksum/catalog"
            ]
            for d in docs
            if d["kind"] == "Deployment"
        }

    shipped = checksums({})
    assert set(shipped) == {"ecrbot", "ecrbot-worker"}
    assert checksums({}) == shipped  # stable: an unchanged catalog rolls nothing
    catalog = yaml.safe_load((CHART / "values.yaml").read_text())["catalog"]
    catalog["report"]["schedule"] = "0 8 * * 1"
    changed = checksums({"catalog": catalog})
    assert all(changed[name] != shipped[name] for name in shipped)
    assert checksums({"bot": {"replicas": 3}}) == shipped  # only the catalog moves it


# -- network policy --------------------------------------------------------------------------


def selects(selector: Doc, labels: dict[str, str]) -> bool:
    return bool(selector.get("matchLabels", {}).items() <= labels.items())


@pytest.mark.parametrize("values", [{}, SCALED], ids=["single", "scaled"])
def test_network_policies_cover_every_pod_and_keep_engines_off_slack_pods(values: Doc) -> None:
    docs = render(values)
    policies = [d for d in docs if d["kind"] == "NetworkPolicy"]
    pods = {
        d["metadata"]["name"]: d["spec"]["template"]["metadata"]["labels"]
        for d in docs
        if d["kind"] in ("Deployment", "Job")
    }
    for name, labels in pods.items():
        covering = [p for p in policies if selects(p["spec"]["podSelector"], labels)]
        assert len(covering) == 1, name
        assert set(covering[0]["spec"]["policyTypes"]) == {"Ingress", "Egress"}
    bot_labels = pods["ecrbot"]
    for policy in policies:
        for rule in policy["spec"].get("ingress", []):
            assert rule["ports"] == [{"port": "http", "protocol": "TCP"}]  # nothing but the app
            if policy["spec"]["podSelector"]["matchLabels"]["app.kubernetes.io/component"] == "bot":
                continue
            # A worker (the engines' pods) admits only its scrapers, never a Slack-facing pod.
            for peer in rule["from"]:
                assert "podSelector" not in peer or not selects(peer["podSelector"], bot_labels)
                namespace = peer["namespaceSelector"]["matchLabels"]
                assert namespace.get("kubernetes.io/metadata.name") != "ecrbot"


# -- Prometheus Operator objects -------------------------------------------------------------


def test_service_monitor_and_rules_only_where_the_operator_is() -> None:
    without = render(SCALED)
    assert not [d for d in without if d["kind"] in ("ServiceMonitor", "PrometheusRule")]
    docs = render(SCALED, api_versions=(MONITORING,))
    monitor = one(docs, "ServiceMonitor", "ecrbot")
    [endpoint] = monitor["spec"]["endpoints"]
    assert endpoint["port"] == "http" and endpoint["path"] == "/metrics"
    services = [d for d in docs if d["kind"] == "Service"]
    assert {s["metadata"]["name"] for s in services} == {"ecrbot", "ecrbot-worker"}
    for service in services:  # both the bot replicas and the workers are scraped
        assert selects(monitor["spec"]["selector"], service["metadata"]["labels"])
        assert [p["name"] for p in service["spec"]["ports"]] == ["http"]
    rule = one(docs, "PrometheusRule", "ecrbot")
    assert rule["spec"] == yaml.safe_load(RULES.read_text())
    disabled = {**SCALED, "metrics": {"serviceMonitor": {"enabled": False}}}
    off = render(disabled, api_versions=(MONITORING,))
    assert not [d for d in off if d["kind"] == "ServiceMonitor"]


def test_the_charts_rules_are_the_deploy_rules() -> None:
    assert (CHART / "files" / "ecrbot-rules.yaml").read_bytes() == RULES.read_bytes()
