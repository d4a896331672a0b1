"""The Lambda image without Docker: install `.[lambda]` as Dockerfile.lambda does, then measure.

Builds a task root (like /var/task in the image): the Dockerfile's sources copied to a build folder,
`pip install --target ROOT .[lambda]` (pip's cache makes repeats fast),
`candlecast_aws/prune.py ROOT`, `lambda/handler.py` as ROOT/handler.py. Then, in fresh
`python -I -S` processes that see only ROOT and the standard library, it times the handler's cold
import and the first call's imports, and runs the handler against the Binance simulator. Prints a
table; exits 1 when a target is missed.

    .venv/bin/python benchmarks/lambda_image.py                   # .[lambda]
    .venv/bin/python benchmarks/lambda_image.py --with-hopsworks  # .[lambda,hopsworks]: size report
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
from datetime import UTC, datetime
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(Path(__file__).parent))

from isolated import (  # noqa: E402  (the shared clean-folder helpers, beside this script)
    folder_mib,
    import_seconds,
    install_target,
    isolated,
    largest_parts,
)

DATA_DIR = Path(os.environ.get("CANDLE_DATA_DIR", REPO.parent / "shared" / "data" / "binance"))
SIZE_TARGET_MIB = 350
IMPORT_TARGET_S = 1.5
# What the handler's first call imports (the pipeline, the store, the Binance client, the AWS SDK).
FIRST_CALL_MODULES = (
    "candlecast_aws.job",
    "daily_pipeline.run",
    "feature_pipeline.archive",
    "feature_store.local",
    "feature_pipeline.binance",
    "boto3",
)


def build_task_root(root: Path, extras: str = "lambda") -> Path:
    """Install the project with `extras` into `root` as Dockerfile.lambda does; `root`."""
    install_target(root, extras)
    prune = REPO / "candlecast_aws" / "prune.py"
    subprocess.run([sys.executable, str(prune), str(root)], check=True)
    shutil.copy2(REPO / "lambda" / "handler.py", root / "handler.py")
    return root


def run_handler(root: Path, env: dict[str, str], event: dict) -> dict:
    """Call handler.handler(event, None) in an isolated process; the summary it returned."""
    code = (
        "import json, handler\n"
        f"summary = handler.handler(json.loads({json.dumps(event)!r}), None)\n"
        "print('SUMMARY ' + json.dumps(summary))\n"
    )
    out = isolated(root, code, {"PATH": os.environ.get("PATH", ""), **env})
    line = next(line for line in out.splitlines() if line.startswith("SUMMARY "))
    return json.loads(line.removeprefix("SUMMARY "))


def handler_run_seconds(root: Path, home: Path) -> tuple[float, dict]:
    """One cold handler call (fresh process) catching up BTCUSDT from the simulator."""
    sys.path.insert(0, str(REPO))
    from candlecast_sim.simulator import start_simulator

    now = datetime(2026, 1, 6, 0, 5, tzinfo=UTC)
    with start_simulator(DATA_DIR, now=now) as simulator:
        env = {
            "CANDLECAST_HOME": str(home),
            "CANDLECAST_NOW": now.isoformat(),
            "BINANCE_API_URL": simulator.url,
        }
        started = datetime.now(UTC)
        summary = run_handler(root, env, {"symbols": ["BTCUSDT"], "interval": "1d"})
        return (datetime.now(UTC) - started).total_seconds(), summary


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--with-hopsworks", action="store_true", help="install .[lambda,hopsworks] (report only)"
    )
    parser.add_argument("--keep", type=Path, help="build the task root here and keep it")
    args = parser.parse_args()
    extras = "lambda,hopsworks" if args.with_hopsworks else "lambda"
    work = Path(tempfile.mkdtemp(prefix="candlecast-lambda-"))
    root = args.keep or work / "task"
    try:
        if root.exists():
            shutil.rmtree(root)
        build_task_root(root, extras)
        size = folder_mib(root)
        parts = largest_parts(root)
        handler_import = import_seconds(root, ("handler",))
        first_call = import_seconds(root, FIRST_CALL_MODULES)
        try:
            run_s, summary = handler_run_seconds(root, work / "home")
        except RuntimeError as error:  # reported as a miss, with the handler's error
            print(error, file=sys.stderr)
            run_s, summary = float("nan"), {"ok": False}
    finally:
        shutil.rmtree(work, ignore_errors=True)
    size_name = f"task root size, .[{extras}] (MiB)"
    rows = [
        (size_name, f"{size:.0f}", f"<= {SIZE_TARGET_MIB}", size <= SIZE_TARGET_MIB),
        ("handler cold import (s)", f"{handler_import:.3f}", f"<= {IMPORT_TARGET_S}",
         handler_import <= IMPORT_TARGET_S),
        ("first call's imports (s)", f"{first_call:.2f}", "info", True),
        ("cold handler call, BTCUSDT backfill (s)", f"{run_s:.2f}", "info", summary["ok"]),
    ]  # fmt: skip
    print(f"{'measure':<42} {'value':>8}  {'target':<8}  result")
    for name, value, target, ok in rows:
        print(f"{name:<42} {value:>8}  {target:<8}  {'ok' if ok else 'MISS'}")
    print("largest parts (MiB): " + ", ".join(f"{name} {mib:.0f}" for name, mib in parts))
    if args.with_hopsworks:
        return 0  # the size with the Hopsworks SDK is reported; the target is for .[lambda]
    return 0 if all(ok for *_, ok in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
