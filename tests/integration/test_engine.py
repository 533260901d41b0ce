"""The Docker adapter on the real engine: a chatty failing build keeps only a bounded tail."""

from __future__ import annotations

import shutil
import tracemalloc
from pathlib import Path
from typing import Literal

import pytest

from bot.adapters.engine import LOG_TAIL_LINES, MAX_LINE, DockerEngine
from bot.domain.cancel import CancelToken
from bot.domain.errors import StepError
from bot.domain.ports import BuildSpec
from tests.e2e.harness import service_env, unique

pytestmark = pytest.mark.integration


@pytest.mark.parametrize(
    ("builder", "lines", "says"),
    [
        # BuildKit clips a step's output itself ("output clipped, log limit 1MiB reached").
        ("buildkit", 50_000, "exit code: 3"),
        ("classic", 200_000, "returned a non-zero code: 3"),
    ],
)
def test_a_build_printing_200k_lines_keeps_a_bounded_tail(
    tmp_path: Path, builder: Literal["buildkit", "classic"], lines: int, says: str
) -> None:
    env = service_env()
    shutil.copy(env["BUSYBOX_STATIC"], tmp_path / "busybox")
    (tmp_path / "Dockerfile").write_text(
        "FROM scratch\nCOPY busybox /bin/busybox\n"
        # 200,000 short lines and one 50 kB line, then a failure.
        'RUN ["/bin/busybox", "sh", "-c", '
        '"/bin/busybox seq 1 200000; /bin/busybox head -c 50000 /dev/zero | '
        '/bin/busybox tr \\"\\\\0\\" x; echo; exit 3"]\n'
    )
    engine = DockerEngine(env["DOCKER_HOST"])
    seen = 0

    def count(line: str) -> None:
        nonlocal seen
        seen += 1
        assert len(line) <= MAX_LINE

    tracemalloc.start()
    with pytest.raises(StepError) as failed:
        engine.build(
            BuildSpec(tmp_path, "Dockerfile", f"ecrbot-test/{unique('chatty')}", {}, {}, builder),
            count,
            CancelToken(),
        )
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert seen > lines
    assert len(failed.value.log_tail) <= LOG_TAIL_LINES
    assert says in failed.value.raw
    assert peak < 30_000_000  # the whole log is ~1.4 MB of text; 3 M lines reached 200 MB
