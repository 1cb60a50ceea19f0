"""The integrator examples of docs/api.md run: docs/examples/enroll.py (grpcio) and enroll.js
(@grpc/grpc-js) each enroll a resident against a real `rekam serve --simulate` daemon until the
centre's PRINT_READY_RECORD, and docs/api.md quotes them word for word.

What each example reports is checked against what it did not produce itself: the record's
status and kept positions asked of the daemon here, and the error sentences rendered here from
the message catalogue in both languages."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import grpc
import pytest

from domain.messages import msg
from station.processes import operator_token, spawn_simulated_kit, stop_process, wait_for_json
from station.v1 import records_pb2, records_pb2_grpc

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "docs" / "examples"
NODE_MODULES = ROOT / "tests" / "node" / "node_modules"
API_DOC = ROOT / "docs" / "api.md"
EXCERPT = re.compile(r"<!-- excerpt: (\S+) -->\n```\w*\n(.*?)```", re.DOTALL)
MISSING = ["right_index", "right_middle"]  # the simulated amputee's, marked as exceptions


@pytest.fixture(scope="module")
def daemon(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict]:
    """A `rekam serve --simulate` process, its ready file's fields and two tokens."""
    work = tmp_path_factory.mktemp("examples")
    data_dir = work / "station"
    tokens = {
        "operator": operator_token(data_dir, "op-ani", "operator"),
        "supervisor": operator_token(data_dir, "sup-budi", "supervisor"),
    }
    process = spawn_simulated_kit(data_dir, work / "ready.json", work / "station.log")
    try:
        yield {**wait_for_json(work / "ready.json", process, 60), **tokens}
    finally:
        stop_process(process)


def run_example(command: list[str], env: dict[str, str]) -> dict:
    """Run an example to its end; its last line of output is its JSON report."""
    run = subprocess.run(
        command,
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
        cwd=ROOT,
        env={**os.environ, **env},
        stdin=subprocess.DEVNULL,
    )
    assert run.returncode == 0, run.stderr[-3000:]
    return json.loads(run.stdout.strip().splitlines()[-1])


def assert_enrolled(report: dict, daemon: dict) -> None:
    """The example reached PRINT_READY_RECORD the way it says, as the daemon tells it here."""
    assert report["status"] == "RECORD_STATUS_PRINT_READY_RECORD", report
    with grpc.insecure_channel(daemon["grpc"]) as channel:
        record = records_pb2_grpc.RecordsStub(channel).GetRecord(
            records_pb2.GetRecordRequest(record_id=report["record_id"]),
            metadata=[("authorization", f"Bearer {daemon['operator']}")],
        )
    assert record.status == records_pb2.RECORD_STATUS_PRINT_READY_RECORD
    kept = set(record.quality)
    assert {"face", "left_index", "right_eye", "signature"} <= kept, kept
    assert not kept & set(MISSING), kept
    assert report["exceptions"] == MISSING
    assert {"position": "left_index", "reason": "SAME_FINGER"} in report["rejections"]
    assert report["previews"] > 0
    for language, locale in (("en", "en-US"), ("id", "id-ID")):
        error = report["error"][language]
        assert error["code"] == "INVALID_ARGUMENT"
        assert error["reason"] == "NIK_INVALID"
        assert error["locale"] == locale
        assert error["message"] == msg("NIK_INVALID_LENGTH", length=15).render(language)
    assert report["error"]["en"]["message"] != report["error"]["id"]["message"]


@pytest.mark.slow
def test_the_python_example_enrolls_a_resident_to_print_ready(daemon: dict) -> None:
    command = [
        sys.executable,
        str(EXAMPLES / "enroll.py"),
        "--grpc",
        daemon["grpc"],
        "--control",
        daemon["control"],
        "--token",
        daemon["operator"],
        "--supervisor-token",
        daemon["supervisor"],
        "--seed",
        "1",
    ]
    assert_enrolled(run_example(command, {"PYTHONPATH": str(ROOT)}), daemon)


@pytest.mark.slow
def test_the_node_example_enrolls_a_resident_to_print_ready(daemon: dict) -> None:
    node = shutil.which("node")
    assert node, "Node.js is missing: .ci/setup-system installs it"
    assert (NODE_MODULES / "protobufjs").is_dir(), "run npm ci in tests/node (.ci/setup-system)"
    command = [
        node,
        str(EXAMPLES / "enroll.js"),
        daemon["grpc"],
        daemon["control"],
        daemon["operator"],
        daemon["supervisor"],
        "2",  # another resident: the same one twice would be the centre's duplicate
    ]
    assert_enrolled(run_example(command, {"NODE_PATH": str(NODE_MODULES)}), daemon)


def test_api_md_quotes_the_examples_word_for_word() -> None:
    excerpts = EXCERPT.findall(API_DOC.read_text())
    quoted = {name for name, _ in excerpts}
    assert quoted == {"docs/examples/enroll.py", "docs/examples/enroll.js"}, quoted
    for name, text in excerpts:
        assert text.count("\n") >= 3, name  # whole pieces, not single lines
        assert text in (ROOT / name).read_text(), f"api.md's excerpt of {name} differs:\n{text}"
