"""ECRBOT_REGISTRY_CA_BUNDLE reaches skopeo: a directory holding the bundle as ca.crt, passed as
--src-cert-dir/--dest-cert-dir to copy, removed afterwards. A stand-in `skopeo` (an executable
script) records what it was given. (The read back after a copy is not skopeo's:
test_registry_manifests.py.)"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from bot.adapters.skopeo import SkopeoCopier
from bot.domain.environments import NamedRegistry
from bot.domain.promotion import ImageRef

FAKE = """#!{python}
import json, os, sys
args = sys.argv[1:]
seen = {{"args": args, "certs": {{}}}}
for flag in ("--cert-dir", "--src-cert-dir", "--dest-cert-dir"):
    if flag in args:
        where = args[args.index(flag) + 1]
        seen["certs"][flag] = {{n: open(os.path.join(where, n)).read() for n in os.listdir(where)}}
with open({record!r}, "a") as out:
    out.write(json.dumps(seen) + "\\n")
sys.stdout.write("{{}}")
"""


def copier(tmp_path: Path, bundle: str | None) -> tuple[SkopeoCopier, Path]:
    record = tmp_path / "calls.jsonl"
    fake = tmp_path / "skopeo"
    fake.write_text(FAKE.format(python=sys.executable, record=str(record)))
    fake.chmod(0o755)
    return SkopeoCopier(lambda image: ("AWS", "secret"), str(fake), ca_bundle=bundle), record


REGISTRY = NamedRegistry("home", "123456789012", "eu-west-2")
IMAGE = ImageRef(REGISTRY, "my-app", "1.0.0")


def test_the_ca_bundle_is_a_cert_dir_for_the_copy(tmp_path: Path) -> None:
    bundle = tmp_path / "bundle.pem"
    bundle.write_text("-----BEGIN CERTIFICATE-----\nMII...\n-----END CERTIFICATE-----\n")
    skopeo, record = copier(tmp_path, str(bundle))
    skopeo.copy(IMAGE, ImageRef(REGISTRY, "my-app-prod", "1.0.0"))
    (copy,) = (json.loads(line) for line in record.read_text().splitlines())
    assert copy["certs"] == {
        "--src-cert-dir": {"ca.crt": bundle.read_text()},
        "--dest-cert-dir": {"ca.crt": bundle.read_text()},
    }
    where = copy["args"][copy["args"].index("--src-cert-dir") + 1]
    assert not Path(where).exists()  # removed with the credentials


def test_without_a_bundle_skopeo_uses_the_systems_trust(tmp_path: Path) -> None:
    skopeo, record = copier(tmp_path, None)
    skopeo.copy(IMAGE, ImageRef(REGISTRY, "my-app-prod", "1.0.0"))
    (copy,) = (json.loads(line) for line in record.read_text().splitlines())
    assert copy["certs"] == {} and not {"--src-cert-dir", "--dest-cert-dir"} & set(copy["args"])
