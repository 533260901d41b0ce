"""helm-python-sdk is Helm's own engine (Helm v4's Go library as a C library), checked before
tests/unit/test_helm_chart.py relies on it: Helm's template functions and errors, and lint
flagging what `helm lint` flags."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml
from helm_python import _native, chart
from helm_python.errors import HelmRenderError

CHART = Path(__file__).resolve().parents[2] / "deploy" / "helm" / "ecrbot"


def test_the_library_is_helms_own_engine(tmp_path: Path) -> None:
    assert _native.helm_sdk_version().startswith("v4.")  # helm.sh/helm/v4, compiled in
    probe = tmp_path / "probe"
    (probe / "templates").mkdir(parents=True)
    (probe / "Chart.yaml").write_text("apiVersion: v2\nname: probe\nversion: 0.1.0\n")
    (probe / "values.yaml").write_text('who: helm\nline: "{{ .Values.who }} renders tpl"\n')
    helper = '{{- define "n" -}}{{ .Release.Name }}-x{{- end -}}'
    (probe / "templates" / "_h.tpl").write_text(helper)
    (probe / "templates" / "cm.yaml").write_text(
        'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ include "n" . }}\ndata:\n'
        "  tpl: {{ tpl .Values.line . | quote }}\n"
        '  need: {{ required "who is required" .Values.who | quote }}\n'
        '  mon: {{ .Capabilities.APIVersions.Has "monitoring.coreos.com/v1" | quote }}\n'
    )
    with chart.Chart.load(probe) as loaded:
        [text] = [t for n, t in loaded.render(values={}, name="r").items() if n.endswith("cm.yaml")]
        data = yaml.safe_load(text)
        assert data["metadata"]["name"] == "r-x"
        assert data["data"] == {"tpl": "helm renders tpl", "need": "helm", "mon": "false"}
        with pytest.raises(HelmRenderError, match=r"execution error at \(probe/templates/cm"):
            loaded.render(values={"who": None}, name="r")
    # Lint flags what `helm lint` flags: a template that isn't YAML.
    (probe / "templates" / "bad.yaml").write_text("kind: ConfigMap\nmetadata:\n  a: b\n   c: d\n")
    report = chart.lint(probe, {}, strict=True)
    assert any("unable to parse YAML" in e for e in report["errors"]), report


def test_a_broken_copy_of_the_chart_fails_lint(tmp_path: Path) -> None:
    copy = tmp_path / "ecrbot"
    shutil.copytree(CHART, copy)
    template = copy / "templates" / "service.yaml"
    template.write_text(template.read_text().replace("  ports:\n", "  ports:\n   oops: [\n", 1))
    assert chart.lint(copy, {}, strict=True)["errors"]
