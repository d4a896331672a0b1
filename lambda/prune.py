"""Remove what the daily job never loads from a `pip install --target` folder (Dockerfile.lambda).

Standard library only: the Dockerfile runs it right after installing `.[lambda]`, and the image
proof test and `benchmarks/lambda_image.py` run the same file on their folders.
Usage: python prune.py FOLDER
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

# Globs relative to the folder: test suites, C/Cython sources and headers, and the pyarrow
# Flight RPC libraries, which only `import pyarrow.flight` loads.
PATTERNS = (
    "*/tests",
    "*/*/tests",
    "pyarrow/include",
    "pyarrow/includes",
    "pyarrow/src",
    "pyarrow/*.pyx",
    "pyarrow/*.pxd",
    "pyarrow/*flight*",
    "bin",
)
# Our own packages are never pruned, whatever the patterns match.
KEEP = ("candlecast", "feature_store", "feature_pipeline", "daily_pipeline")


def prune(folder: Path) -> int:
    """Delete the matching files and folders; the bytes freed."""
    freed = 0
    for pattern in PATTERNS:
        for path in sorted(folder.glob(pattern)):
            if path.relative_to(folder).parts[0] in KEEP:
                continue
            freed += size(path)
            if path.is_dir() and not path.is_symlink():
                shutil.rmtree(path)
            else:
                path.unlink()
    return freed


def size(path: Path) -> int:
    """Bytes of a file or of everything under a folder (links not followed)."""
    if path.is_file() or path.is_symlink():
        return path.lstat().st_size
    return sum(p.lstat().st_size for p in path.rglob("*") if p.is_file() or p.is_symlink())


def main(argv: list[str]) -> int:
    if len(argv) != 2 or not Path(argv[1]).is_dir():
        print("usage: python prune.py FOLDER (a pip install --target folder)", file=sys.stderr)
        return 2
    freed = prune(Path(argv[1]))
    print(f"pruned {freed / 2**20:.1f} MiB from {argv[1]}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
