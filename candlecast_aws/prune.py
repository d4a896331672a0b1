"""Slim a `pip install --target` folder to what the daily job loads (Dockerfile.lambda).

Standard library plus binutils' `strip`: the Dockerfile's build stage runs it right after
installing `.[lambda]`, and the image proof test and `benchmarks/lambda_image.py` run the same
file on their folders, so what is proven is what ships. Each step removes only what a daily run
(local or S3 store, raw archive, Secrets Manager) never loads; the proof test runs the handler
from the pruned folder with nothing else on the path.
Usage: python prune.py FOLDER
"""

from __future__ import annotations

import filecmp
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

# Globs relative to the folder: test suites, C/Cython sources and headers, type stubs, pip's
# uninstall lists, numpy's Fortran and build tooling, the pyarrow Flight RPC libraries, which
# only `import pyarrow.flight` loads, and onnxruntime's C-API library (its Python binding holds
# the runtime itself) and model-conversion tools.
PATTERNS = (
    "*/tests",
    "*/*/tests",
    "Crypto/SelfTest",
    "pyarrow/include",
    "pyarrow/includes",
    "pyarrow/src",
    "pyarrow/*.pyx",
    "pyarrow/*.pxd",
    "pyarrow/*flight*",
    "numpy/f2py",
    "numpy/distutils",
    "onnxruntime/capi/libonnxruntime.so*",
    "onnxruntime/transformers",
    "onnxruntime/quantization",
    "onnxruntime/tools",
    "**/*.pyi",
    "*-stubs",
    "*.dist-info/RECORD",
    "bin",
)
# Distributions that only the `candlecast` CLI needs (Typer and its terminal formatting).
CLI_ONLY = ("typer", "rich", "pygments", "markdown_it", "mdurl", "shellingham")
# AWS services the handler calls (S3 for the store and raw archive, Secrets Manager for the
# Hopsworks key; STS for assumed-role credentials). botocore ships models for about 440.
AWS_SERVICES = ("s3", "secretsmanager", "sts")
# Our own packages are never pruned, whatever the patterns match.
KEEP = (
    "candlecast",
    "candlecast_aws",
    "candlecast_cli",
    "feature_store",
    "feature_pipeline",
    "daily_pipeline",
    "training_pipeline",
    "inference_app",
)
_SHT_SYMTAB = 2


def prune(folder: Path) -> dict[str, int]:
    """Slim `folder` in place; the bytes freed by each step."""
    return {
        "test suites, headers, stubs, build tools": remove(folder, globbed(folder, PATTERNS)),
        "CLI-only packages": remove(folder, cli_only(folder)),
        "botocore models of unused AWS services": remove(folder, unused_aws_models(folder)),
        "symbol tables of shared libraries": strip_libraries(folder),
        "duplicate shared libraries -> links": link_duplicates(folder),
    }


def globbed(folder: Path, patterns: tuple[str, ...]) -> Iterator[Path]:
    for pattern in patterns:
        yield from sorted(folder.glob(pattern))


def cli_only(folder: Path) -> Iterator[Path]:
    for name in CLI_ONLY:
        yield from globbed(folder, (name, f"{name}-*.dist-info"))


def unused_aws_models(folder: Path) -> Iterator[Path]:
    for data in (folder / "botocore" / "data", folder / "boto3" / "data"):
        if data.is_dir():
            yield from sorted(
                p for p in data.iterdir() if p.is_dir() and p.name not in AWS_SERVICES
            )


def remove(folder: Path, paths: Iterator[Path]) -> int:
    """Delete files and folders (never under KEEP); the bytes freed."""
    freed = 0
    for path in paths:
        if path.relative_to(folder).parts[0] in KEEP or not os.path.lexists(path):
            continue
        freed += size(path)
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path)
        else:
            path.unlink()
    return freed


def shared_libraries(folder: Path) -> list[Path]:
    """Regular `.so` files, outside the `*.libs` folders of libraries that auditwheel grafted.

    Grafted libraries were rewritten by patchelf, and stripping such a file can leave its load
    segments misaligned (numpy's OpenBLAS then fails to load), so they are left as shipped.
    """
    return sorted(
        p
        for p in folder.rglob("*.so*")
        if p.is_file()
        and not p.is_symlink()
        and not any(part.endswith(".libs") for part in p.relative_to(folder).parts)
    )


def has_symbol_table(path: Path) -> bool:
    """True for a 64-bit little-endian ELF file that still carries a .symtab section."""
    with path.open("rb") as file:
        header = file.read(64)
        if header[:6] != b"\x7fELF\x02\x01":
            return False
        offset = int.from_bytes(header[0x28:0x30], "little")
        entry_size = int.from_bytes(header[0x3A:0x3C], "little")
        count = int.from_bytes(header[0x3C:0x3E], "little")
        file.seek(offset)
        table = file.read(entry_size * count)
    types = (
        int.from_bytes(table[i + 4 : i + 8], "little") for i in range(0, len(table), entry_size)
    )
    return _SHT_SYMTAB in types


def strip_libraries(folder: Path) -> int:
    """`strip --strip-unneeded` every shared library with a symbol table; the bytes freed.

    Only the static symbol table and debug sections go; the dynamic symbols that the loader and
    Python's import resolve stay.
    """
    strip = shutil.which("strip")
    if strip is None:
        raise SystemExit("prune.py needs `strip` from binutils: install binutils (yum/apt) first")
    targets = [p for p in shared_libraries(folder) if has_symbol_table(p)]
    before = sum(p.stat().st_size for p in targets)
    for start in range(0, len(targets), 100):
        batch = [str(p) for p in targets[start : start + 100]]
        subprocess.run([strip, "--strip-unneeded", *batch], check=True)
    return before - sum(p.stat().st_size for p in targets)


def link_duplicates(folder: Path) -> int:
    """Replace byte-identical copies of a library in one folder with links to the first.

    Wheels cannot hold links, so `libx.so`, `libx.so.25` and `libx.so.25.1.0` arrive as copies.
    """
    freed = 0
    seen: dict[tuple[Path, int], list[Path]] = {}
    for path in shared_libraries(folder):
        originals = seen.setdefault((path.parent, path.stat().st_size), [])
        original = next((o for o in originals if filecmp.cmp(o, path, shallow=False)), None)
        if original is None:
            originals.append(path)
            continue
        freed += path.stat().st_size
        path.unlink()
        path.symlink_to(original.name)
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
    for step, amount in freed.items():
        print(f"pruned {amount / 2**20:6.1f} MiB  {step}")
    print(f"pruned {sum(freed.values()) / 2**20:6.1f} MiB from {argv[1]}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
