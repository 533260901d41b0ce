"""deploy/: the Kubernetes manifests hold what docs/DEPLOY.md promises, and the CI example passes
ecrbot's own workflow analyser."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path, PurePosixPath
from typing import Any

import yaml

from bot.config import Settings, load_catalog
from bot.domain.workflow.analysis import analyse_workflows

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
KUBE = DEPLOY / "kubernetes"
WORKFLOW = ROOT / "docs" / "examples" / "github-actions-push.yml"
SLACK_SECRETS = ("SLACK_BOT_TOKEN", "SLACK_SIGNING_SECRET", "SLACK_APP_TOKEN")
# Slack token shapes; a placeholder ends in REPLACE-ME or an ellipsis.
TOKEN = re.compile(r"\b(?:xox[bpa]|xapp)-[A-Za-z0-9.…-]*")
PLACEHOLDER = re.compile(r"^(?:xox[bpa]|xapp)-(?:REPLACE-ME|\.\.\.|…)$")

Doc = dict[str, Any]


def _load(path: Path) -> list[Doc]:
    return [doc for doc in yaml.safe_load_all(path.read_text(encoding="utf-8")) if doc]


def _manifests() -> list[tuple[Path, Doc]]:
    return [(path, doc) for path in sorted(KUBE.glob("*.yaml")) for doc in _load(path)]


def _one(kind: str) -> Doc:
    found = [doc for path, doc in _manifests() if doc["kind"] == kind]
    assert len(found) == 1, f"expected one {kind}, found {len(found)}"
    return found[0]


def _pod() -> Doc:
    spec: Doc = _one("Deployment")["spec"]["template"]["spec"]
    return spec


def _pod_annotations() -> dict[str, str]:
    annotations: dict[str, str] = _one("Deployment")["spec"]["template"]["metadata"]["annotations"]
    return annotations


def _containers() -> list[Doc]:
    containers: list[Doc] = _pod()["containers"]
    return containers


def _bot() -> Doc:
    """The bot container: the one running the image from the repository's Dockerfile."""
    found = [c for c in _containers() if c["image"].split(":")[0].endswith("ecrbot")]
    assert len(found) == 1
    return found[0]


def _env(container: Doc) -> dict[str, Doc]:
    return {entry["name"]: entry for entry in container.get("env", [])}


def _readme_variables() -> set[str]:
    """The variable names the README's Configuration section documents (table and prose)."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    section = text.split("\n## Configuration", 1)[1].split("\n## ", 1)[0]
    names = set(re.findall(r"`([A-Z][A-Z0-9_]+)`", section))
    assert "SLACK_BOT_TOKEN" in names and "DOCKER_HOST" in names, "README table not found"
    return names


def _mount_for(container: Doc, path: str) -> Doc:
    """The volume mount a path lives under (the deepest one)."""
    mounts = [
        m
        for m in container.get("volumeMounts", [])
        if PurePosixPath(path).is_relative_to(m["mountPath"])
    ]
    assert mounts, f"{path} is on no volume"
    return max(mounts, key=lambda m: len(m["mountPath"]))


def _generated_config_maps() -> dict[str, dict[str, Path]]:
    """The kustomization's generated ConfigMaps: name -> key -> the file it comes from."""
    maps: dict[str, dict[str, Path]] = {}
    for generator in _one("Kustomization").get("configMapGenerator", []):
        files = {}
        for entry in generator["files"]:
            key, _, source = entry.rpartition("=")
            files[key or source] = KUBE / source
        maps[generator["name"]] = files
    return maps


def _volume(name: str) -> Doc:
    found: list[Doc] = [v for v in _pod()["volumes"] if v["name"] == name]
    assert len(found) == 1
    return found[0]


# -- the files --------------------------------------------------------------------------------


def test_every_yaml_file_under_deploy_parses() -> None:
    files = sorted([*DEPLOY.rglob("*.yaml"), *DEPLOY.rglob("*.yml"), WORKFLOW])
    # A Helm chart's templates are Go templates, not YAML: Helm renders and checks them
    # (tests/unit/test_helm_chart.py).
    files = [p for p in files if "templates" not in p.relative_to(ROOT).parts]
    assert len(files) >= 8
    for path in files:
        assert _load(path), f"{path} holds no document"
    for path, doc in _manifests():
        assert {"apiVersion", "kind"} <= doc.keys(), path
        if doc["kind"] != "Kustomization":
            assert doc["metadata"]["name"], path


def test_the_kustomization_lists_every_manifest_but_the_example_secret() -> None:
    kustomization = _one("Kustomization")
    listed = set(kustomization["resources"])
    on_disk = {p.name for p in KUBE.glob("*.yaml")} - {"kustomization.yaml"}
    assert listed == on_disk - {"secret.example.yaml"}
    namespace = _one("Namespace")["metadata"]["name"]
    assert kustomization["namespace"] == namespace
    for _, doc in _manifests():
        if doc["kind"] not in ("Kustomization", "Namespace"):
            assert doc["metadata"].get("namespace", namespace) == namespace


def test_kustomize_builds_the_manifests() -> None:
    built = subprocess.run(
        ["kubectl", "kustomize", str(KUBE)], capture_output=True, text=True, check=True, timeout=60
    ).stdout
    kinds = sorted(doc["kind"] for doc in yaml.safe_load_all(built) if doc)
    expected = ["ConfigMap", "Deployment", "Namespace", "PersistentVolumeClaim", "Service"]
    assert kinds == sorted([*expected, "ServiceAccount"])


# -- the Deployment ---------------------------------------------------------------------------


def test_one_replica_recreated_never_rolled() -> None:
    deployment = _one("Deployment")
    assert deployment["spec"]["replicas"] == 1
    assert deployment["spec"]["strategy"] == {"type": "Recreate"}
    assert "ONE replica" in (KUBE / "deployment.yaml").read_text(encoding="utf-8")


def test_probes_and_metrics_are_on_the_ops_port_not_slacks() -> None:
    # /readyz says which dependency fails and /metrics names every app (issue #18): they are on
    # the ops port, which the Service does not expose; the Slack port keeps /healthz only.
    bot = _bot()
    ports = {p["name"]: p["containerPort"] for p in bot["ports"]}
    assert ports == {"http": 3000, "ops": 9100}
    probes = [bot[kind]["httpGet"] for kind in ("startupProbe", "livenessProbe", "readinessProbe")]
    assert [p["path"] for p in probes] == ["/healthz", "/healthz", "/readyz"]
    for probe in probes:
        assert ports.get(probe["port"], probe["port"]) == 9100
    assert _env(bot)["PORT"]["value"] == "3000"
    assert _env(bot)["ECRBOT_OPS_PORT"]["value"] == "9100"
    assert _pod_annotations()["prometheus.io/port"] == "9100"
    services = [doc for _, doc in _manifests() if doc["kind"] == "Service"]
    exposed = {p["targetPort"] for s in services for p in s["spec"]["ports"]}
    assert exposed == {"http"}


def test_the_pod_runs_as_the_service_account_with_the_irsa_role() -> None:
    account = _pod()["serviceAccountName"]
    accounts = [doc for _, doc in _manifests() if doc["kind"] == "ServiceAccount"]
    used = [a for a in accounts if a["metadata"]["name"] == account]
    assert len(used) == 1
    role = used[0]["metadata"]["annotations"]["eks.amazonaws.com/role-arn"]
    assert re.fullmatch(r"arn:aws:iam::\d{12}:role/[\w+=,.@/-]+", role)


def test_the_bot_is_non_root_with_a_read_only_root_filesystem() -> None:
    context = _bot()["securityContext"]
    assert context["runAsNonRoot"] is True
    # The kubelet can only check runAsNonRoot against a number: the image's USER is one, and
    # the pod states the same one.
    dockerfile = (ROOT / "Dockerfile").read_text()
    users = re.findall(r"^USER (\S+)$", dockerfile, flags=re.MULTILINE)
    assert users == ["10001"]
    assert "useradd --create-home --uid 10001 ecrbot" in dockerfile
    assert isinstance(context["runAsUser"], int) and context["runAsUser"] == 10001
    assert context["readOnlyRootFilesystem"] is True
    assert context["allowPrivilegeEscalation"] is False
    assert context["capabilities"]["drop"] == ["ALL"]
    assert "privileged" not in context


def test_the_work_dir_is_an_empty_dir() -> None:
    bot = _bot()
    work = _env(bot)["ECRBOT_WORK_DIR"]["value"]
    assert work == "/home/ecrbot/work"
    # The image sets it too: the default (the user's data directory) is for shells and CI.
    assert f"ECRBOT_WORK_DIR={work}" in (ROOT / "Dockerfile").read_text()
    mount = _mount_for(bot, work)
    assert mount["mountPath"] == work
    assert "emptyDir" in _volume(mount["name"])


def test_the_catalog_is_the_config_map_mounted_where_ecrbot_config_points() -> None:
    bot = _bot()
    path = PurePosixPath(_env(bot)["ECRBOT_CONFIG"]["value"])
    assert str(path) == "/etc/ecrbot/ecrbot.yml"
    mount = _mount_for(bot, str(path))
    assert mount.get("readOnly") is True
    config_map = _volume(mount["name"])["configMap"]["name"]
    files = _generated_config_maps()[config_map]
    key = str(path.relative_to(mount["mountPath"]))
    # The bot validates the catalog at start: so does this test.
    catalog = load_catalog(files[key])
    example = load_catalog(ROOT / "ecrbot.example.yml")
    assert catalog == example


def test_the_catalog_config_map_is_generated_so_a_change_rolls_the_pod() -> None:
    kustomization = _one("Kustomization")
    assert not [doc for _, doc in _manifests() if doc["kind"] == "ConfigMap"]
    # The hash suffix is what changes the pod template; turning it off would bring back
    # "edit the catalog, nothing happens".
    options = kustomization.get("generatorOptions", {})
    assert not options.get("disableNameSuffixHash")
    for generator in kustomization["configMapGenerator"]:
        assert not generator.get("options", {}).get("disableNameSuffixHash")
        assert generator.get("behavior", "create") == "create"


def test_editing_the_catalog_changes_the_pod_template(tmp_path: Path) -> None:
    def catalog_volume(directory: Path) -> tuple[str, set[str]]:
        built = subprocess.run(
            ["kubectl", "kustomize", str(directory)],
            capture_output=True,
            text=True,
            check=True,
            timeout=60,
        ).stdout
        docs = [doc for doc in yaml.safe_load_all(built) if doc]
        pod = next(d for d in docs if d["kind"] == "Deployment")["spec"]["template"]["spec"]
        volume = next(v for v in pod["volumes"] if v["name"] == "catalog")
        maps = {d["metadata"]["name"] for d in docs if d["kind"] == "ConfigMap"}
        return volume["configMap"]["name"], maps

    shipped, maps = catalog_volume(KUBE)
    assert re.fullmatch(r"ecrbot-catalog-[a-z0-9]{10}", shipped) and maps == {shipped}
    edited = tmp_path / "kubernetes"
    shutil.copytree(KUBE, edited)
    with (edited / "ecrbot.yml").open("a", encoding="utf-8") as catalog:
        catalog.write("# an edit\n")
    changed, maps = catalog_volume(edited)
    assert changed != shipped and maps == {changed}


def test_the_probes_are_served_in_socket_mode_too() -> None:
    # bot/entrypoints/server.py's ops_server serves /healthz, /readyz and /metrics on PORT in
    # Socket Mode (tests/e2e/world.py waits for /healthz there): no text may say otherwise.
    for path in (KUBE / "deployment.yaml", ROOT / "docs" / "DEPLOY.md", KUBE / "service.yaml"):
        text = " ".join(path.read_text(encoding="utf-8").split()).replace("# ", "")
        assert "serves no HTTP" not in text, path
        assert "isn't served in this mode" not in text, path
    assert "/healthz" in (ROOT / "bot/entrypoints/server.py").read_text()


def test_the_database_is_on_the_claim_or_in_the_secret() -> None:
    url = _env(_bot())["ECRBOT_DATABASE_URL"]
    if "valueFrom" in url:
        assert url["valueFrom"]["secretKeyRef"]["key"] == "ECRBOT_DATABASE_URL"
        return
    match = re.fullmatch(r"sqlite:///(/.+)", url["value"])
    assert match, "an SQLite URL with an absolute path"
    volume = _volume(_mount_for(_bot(), match.group(1))["name"])
    claim = volume["persistentVolumeClaim"]["claimName"]
    claims = [d for _, d in _manifests() if d["kind"] == "PersistentVolumeClaim"]
    assert [c["metadata"]["name"] for c in claims] == [claim]


def test_the_docker_engine_sidecar_listens_only_on_the_socket_docker_host_names() -> None:
    host = _env(_bot())["DOCKER_HOST"]["value"]
    assert host.startswith("unix:///")
    engines = [c for c in _containers() if c["name"] != _bot()["name"]]
    assert len(engines) == 1
    engine = engines[0]
    assert engine["image"].startswith("docker:") and "dind" in engine["image"]
    assert engine["securityContext"]["privileged"] is True  # dind needs it
    args = engine["args"]
    assert args[0] == "dockerd"  # skips the image's default 0.0.0.0:2375/2376 listeners
    # The API is the unix socket only: no TCP listener, not even on the pod's loopback, which
    # anything in the pod's network namespace reaches (the engine's API is root on the node).
    assert [a for a in args if a.startswith("--host=")] == [f"--host={host}"]
    assert "--group=10001" in args  # the socket's group: the bot's runAsGroup
    assert _bot()["securityContext"]["runAsGroup"] == 10001
    socket_dir = host.removeprefix("unix://").rsplit("/", 1)[0]
    bot_mount, engine_mount = _mount_for(_bot(), socket_dir), _mount_for(engine, socket_dir)
    assert bot_mount["name"] == engine_mount["name"]
    assert _volume(bot_mount["name"])["emptyDir"]["medium"] == "Memory"  # a socket, nothing else
    storage = _mount_for(engine, "/var/lib/docker")
    assert {"emptyDir", "persistentVolumeClaim"} & _volume(storage["name"]).keys()
    text = (KUBE / "deployment.yaml").read_text(encoding="utf-8")
    assert "DOCKER_HOST" in text and "rootless" in text  # the alternatives are written down


def test_resources_are_set() -> None:
    for container in _containers():
        assert container["resources"]["requests"]["memory"], container["name"]
        assert container["resources"]["limits"]["memory"], container["name"]


def test_the_service_sends_port_80_to_the_bot() -> None:
    service = _one("Service")
    assert service["spec"]["type"] == "ClusterIP"
    (port,) = service["spec"]["ports"]
    assert port["port"] == 80
    ports = {p["name"]: p["containerPort"] for p in _bot()["ports"]}
    assert ports.get(port["targetPort"], port["targetPort"]) == 3000
    labels = _one("Deployment")["spec"]["template"]["metadata"]["labels"]
    assert service["spec"]["selector"].items() <= labels.items()
    assert "Socket Mode" in (KUBE / "service.yaml").read_text(encoding="utf-8")


# -- secrets and configuration ----------------------------------------------------------------


def test_secrets_come_only_from_the_secret() -> None:
    example = _load(KUBE / "secret.example.yaml")[0]
    example_text = (KUBE / "secret.example.yaml").read_text(encoding="utf-8")
    for container in _containers():
        assert "envFrom" not in container or all(
            "secretRef" in source or "configMapRef" in source for source in container["envFrom"]
        )
        for name, entry in _env(container).items():
            # ECRBOT_BUILD_SECRETS_DIR is where a Secret is mounted, not a secret value.
            secret_named = re.search(r"TOKEN|SECRET|PASSWORD", name) and not name.endswith("_DIR")
            if name in SLACK_SECRETS or secret_named:
                assert "value" not in entry, f"{name} is written in the manifest"
                ref = entry["valueFrom"]["secretKeyRef"]
                assert ref["name"] == example["metadata"]["name"]
                assert f"{ref['key']}:" in example_text, f"{ref['key']} is not in the example"
            if "valueFrom" in entry and "secretKeyRef" in entry["valueFrom"]:
                assert entry["valueFrom"]["secretKeyRef"]["name"] == example["metadata"]["name"]
    env = _env(_bot())
    for name in SLACK_SECRETS:
        assert "secretKeyRef" in env[name]["valueFrom"], name
    assert "optional" not in env["SLACK_BOT_TOKEN"]["valueFrom"]["secretKeyRef"]


def test_build_secrets_are_their_own_secret_mounted_read_only() -> None:
    bot = _bot()
    folder = _env(bot)["ECRBOT_BUILD_SECRETS_DIR"]["value"]
    [mount] = [m for m in bot["volumeMounts"] if m["mountPath"] == folder]
    assert mount["readOnly"] is True
    volumes = _load(KUBE / "deployment.yaml")[0]["spec"]["template"]["spec"]["volumes"]
    [volume] = [v for v in volumes if v["name"] == mount["name"]]
    assert volume["secret"]["secretName"] == "ecrbot-build-secrets"  # never the bot's `ecrbot`


def test_no_real_token_anywhere_under_deploy() -> None:
    files = [p for p in DEPLOY.rglob("*") if p.is_file()]
    files += [WORKFLOW, ROOT / "docs" / "DEPLOY.md"]
    seen = 0
    for path in files:
        for found in TOKEN.findall(path.read_text(encoding="utf-8")):
            seen += 1
            assert PLACEHOLDER.match(found), f"{path}: {found!r} looks like a real Slack token"
    assert seen >= 1  # the example Secret's placeholders are found, so the scan works


def test_the_token_scan_catches_a_real_looking_token() -> None:
    real = "xoxb-" + "123456789012-1234567890123-" + "AbCdEfGhIjKlMnOpQrStUvWx"
    assert not PLACEHOLDER.match(TOKEN.findall(f"SLACK_BOT_TOKEN: {real}")[0])
    assert PLACEHOLDER.match(TOKEN.findall("SLACK_BOT_TOKEN: xoxb-REPLACE-ME")[0])


def test_every_variable_the_manifests_set_is_one_the_bot_reads() -> None:
    known = _readme_variables()
    for container in _containers():
        if container["image"] != _bot()["image"]:
            continue  # the engine sidecar's variables are dockerd's own
        for name in _env(container):
            assert name in known, f"{container['name']} sets {name}, which the bot does not read"
    secret = _load(KUBE / "secret.example.yaml")[0]
    for name in secret.get("stringData", {}):
        assert name in known, f"the Secret holds {name}, which the bot does not read"


# -- the GitHub Actions example ---------------------------------------------------------------


def test_the_workflow_example_passes_ecrbots_own_analyser() -> None:
    (report,) = analyse_workflows({".github/workflows/push.yml": WORKFLOW.read_text()})
    assert report.error is None
    (job,) = report.jobs
    assert job.id_token == "write", job.id_token_reason
    assert job.uses_standard_tooling
    (step,) = job.aws_steps
    assert step.uses == "aws-actions/configure-aws-credentials@v4"
    assert step.role_to_assume and re.fullmatch(r"arn:aws:iam::\d{12}:role/.+", step.role_to_assume)
    assert step.aws_region == "eu-west-2"
    assert not step.uses_static_keys
    assert job.notes == ()  # no latest tag, the SHA is the commit's, no fork or Dependabot caveat


def test_the_workflow_example_runs_ecrbot_push_with_oidc() -> None:
    workflow = yaml.safe_load(WORKFLOW.read_text())
    (job,) = workflow["jobs"].values()
    assert job["permissions"] == {"contents": "read", "id-token": "write"}
    runs = "\n".join(str(step.get("run", "")) for step in job["steps"])
    assert "ecrbot push" in runs and "ecr-build-push.sh" not in runs
    for flag in ("--registry", "--name", "--sha", "--version"):
        assert flag in runs
    assert "${{ github.sha }}" in runs
    assert "pip install" in runs
    assert "ecrbot diagnose" not in runs  # needs the catalog, which CI does not have
    assert "aws-access-key-id" not in WORKFLOW.read_text()


def test_the_image_has_an_init_and_the_pod_outlasts_the_drain() -> None:
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert 'ENTRYPOINT ["tini", "--", "ecrbot"]' in dockerfile and " tini " in dockerfile
    pod = yaml.safe_load_all((ROOT / "deploy/kubernetes/deployment.yaml").read_text())
    spec = next(d for d in pod if d and d.get("kind") == "Deployment")["spec"]["template"]["spec"]
    assert spec["terminationGracePeriodSeconds"] > Settings().drain_s + 15
