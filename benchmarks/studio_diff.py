"""Studio diff benchmark: how long the server's diff of two versions of the largest diagram takes, and the
size of the diff page's bundle.

    python benchmarks/studio_diff.py [--repeat 50]

The two versions are the largest BPMN file in workflows/ and a copy with the studio's typical small change
(a timer moved to another SLA name, a task renamed, one shape moved), diffed in-process with
engine.bpmn_diff, one warm-up run first; best and median of ``--repeat`` runs. The bundle figures are
read from the committed build's manifest (web/static/studio/manifest.json): raw and gzip bytes of the
`bpmn-diff` script and style sheet. CPU-bound: on a busy machine the wall time rises, so the CPU time
is shown as well.
"""

from __future__ import annotations

import sys
from pathlib import Path

_HERE = Path(__file__).resolve().parent
if sys.path and Path(sys.path[0] or ".").resolve() == _HERE:
    sys.path[0] = str(_HERE.parent)  # the repository root, as for benchmarks/engine.py

import argparse  # noqa: E402
import json  # noqa: E402
import os  # noqa: E402
import re  # noqa: E402
import time  # noqa: E402

from engine.bpmn_diff import diff_bpmn  # noqa: E402

ROOT = _HERE.parent
MANIFEST = ROOT / "web" / "static" / "studio" / "manifest.json"


def changed_copy(xml: str) -> str:
    """The diagram with a timer on another SLA name, the first user task renamed and one shape moved."""
    xml = xml.replace('sla("registry_wait")', 'sla("operator_review")', 1)
    xml = re.sub(r'(<bpmn:userTask id="[^"]+" name=")([^"]+)"', r'\1\2 (изменено)"', xml, count=1)
    return re.sub(r'(<dc:Bounds x=")(\d+)', lambda m: f"{m.group(1)}{int(m.group(2)) + 20}", xml, count=1)


def measure(old: str, new: str, repeat: int) -> tuple[list[float], list[float], int]:
    changes = len(diff_bpmn(old, new))  # warm-up
    wall, cpu = [], []
    for _ in range(repeat):
        w, c = time.perf_counter(), time.process_time()
        diff_bpmn(old, new)
        wall.append((time.perf_counter() - w) * 1000)
        cpu.append((time.process_time() - c) * 1000)
    return wall, cpu, changes


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=50)
    args = parser.parse_args()
    largest = max((ROOT / "workflows").glob("*.bpmn"), key=lambda p: p.stat().st_size)
    old = largest.read_text(encoding="utf-8")
    wall, cpu, changes = measure(old, changed_copy(old), args.repeat)
    wall.sort()
    cpu.sort()
    print(f"diagram: {largest.name}, {len(old.encode()) // 1024} KB; changed elements found: {changes}; "
          f"load average: {os.getloadavg()[0]:.2f}")
    print(f"diff_bpmn: best {wall[0]:.1f} ms, median {wall[len(wall) // 2]:.1f} ms wall; "
          f"median {cpu[len(cpu) // 2]:.1f} ms CPU ({args.repeat} runs)")
    manifest = json.loads(MANIFEST.read_text(encoding="utf-8"))
    for entry in ("bpmn-diff.js", "bpmn-diff.css"):
        name = manifest["entries"][entry]
        sizes = manifest["files"][name]
        print(f"{entry}: {sizes['bytes']:,} bytes, gzip {sizes['gzip_bytes']:,} bytes ({name})")


if __name__ == "__main__":
    main()
