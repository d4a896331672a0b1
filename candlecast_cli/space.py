"""`candlecast space build DIR`: a Hugging Face Space folder (app.py, README.md, requirements.txt
and candlecast's package sources) that serves the forecast app from the embedded store on S3 or
Hopsworks.

The Hub builds a Space by installing requirements.txt with only that file mounted, then copies
the folder: a wheel or a path beside requirements.txt is not there yet. So the folder carries the
packages' sources, imported from the Space's working folder, and requirements.txt their
dependencies as pyproject.toml declares them."""

from __future__ import annotations

import json
import shutil
import tomllib
from dataclasses import dataclass
from importlib import metadata, resources
from pathlib import Path
from string import Template
from typing import Annotated

import typer

from candlecast.errors import SettingsError

BACKENDS = {"s3": ("app",), "hopsworks": ("app", "hopsworks")}  # backend -> extras installed
FILES = ("app.py", "README.md", "requirements.txt")
# Gradio comes from the README's sdk_version: the Space installs it before requirements.txt.
FROM_SDK = ("gradio",)
APP_PY = '''\
"""The Hugging Face Space's entry point, written by `candlecast space build`: it serves the
candlecast forecast app with the settings of the Space's variables and secrets. The packages
beside this file are candlecast's own sources; requirements.txt holds their dependencies."""

from inference_app.app import serve_forever

if __name__ == "__main__":
    serve_forever()
'''
REQUIREMENTS = """\
# The dependencies of candlecast's sources in this folder, with the {extras} extra(s), written by
# `candlecast space build` from pyproject.toml. Gradio comes from sdk_version in README.md.
{lines}
"""

space_app = typer.Typer(
    help="Build the Hugging Face Space that serves the forecast app.", no_args_is_help=True
)


@dataclass(frozen=True)
class SpaceFolder:
    """What `space build` wrote."""

    folder: Path
    backend: str
    packages: tuple[str, ...]
    requirements: tuple[str, ...]
    sdk_version: str

    def to_dict(self) -> dict[str, object]:
        return {
            "folder": str(self.folder),
            "backend": self.backend,
            "packages": list(self.packages),
            "requirements": list(self.requirements),
            "sdk_version": self.sdk_version,
            "files": [*FILES, *self.packages],
        }


def build(
    folder: Annotated[
        Path,
        typer.Argument(
            help="The folder to write (created if missing): the root of the Space's repository."
        ),
    ],
    backend: Annotated[
        str,
        typer.Option(
            help="Where the Space reads features and models: 's3' (the embedded store and "
            "registry under s3:// prefixes; the app extra's dependencies) or 'hopsworks' "
            "(the app and hopsworks extras' dependencies)."
        ),
    ] = "s3",
    force: Annotated[
        bool,
        typer.Option(
            "--force",
            help="Write into a folder that is not empty (e.g. a clone of the Space's repository): "
            "app.py, README.md, requirements.txt and candlecast's package folders are replaced, "
            "other files are kept.",
        ),
    ] = False,
    as_json: Annotated[
        bool,
        typer.Option(
            "--json",
            help="Print one JSON object: folder, backend, packages, requirements, sdk_version, "
            "files.",
        ),
    ] = False,
) -> None:
    """Write a ready Hugging Face Space folder: app.py, README.md, requirements.txt and the
    candlecast packages' sources.

    The README holds the Space's settings and the variables and secrets of each backend;
    requirements.txt lists the packages' dependencies from pyproject.toml (the Hub installs it
    before it copies the folder, so the sources are imported from the folder itself). The sources
    are this checkout's as they are, uncommitted changes included.

    Upload the folder to a Gradio Space (`huggingface-cli upload SPACE_ID DIR . --repo-type space`
    or git push), then set the variables and secrets its README lists. Exits 1 with a message
    when the folder is not empty (without --force) or the backend is unknown.
    """
    written = build_space(folder, backend=backend, force=force)
    if as_json:
        typer.echo(json.dumps(written.to_dict(), indent=2))
        return
    typer.echo(
        f"wrote the Space to {written.folder}: {', '.join(FILES)} and the packages "
        f"{', '.join(written.packages)} ({len(written.requirements)} requirements; Gradio "
        f"{written.sdk_version})\n"
        f"upload it with `huggingface-cli upload SPACE_ID {written.folder} . --repo-type space`, "
        "then set the variables and secrets its README.md lists"
    )


def build_space(folder: Path, *, backend: str = "s3", force: bool = False) -> SpaceFolder:
    """Write the Space folder; checks everything before writing anything."""
    if backend not in BACKENDS:
        raise SettingsError(
            f"--backend {backend!r} is not known; use one of: {', '.join(BACKENDS)}"
        )
    folder = folder.expanduser().resolve()
    if folder.exists() and not folder.is_dir():
        raise SettingsError(f"{folder} is a file; pass a folder for the Space")
    root, project = source_project()
    packages = tuple(project["tool"]["setuptools"]["packages"])
    if folder.is_dir() and any(folder.iterdir()) and not force:
        raise SettingsError(
            f"{folder} is not empty; pass an empty or new folder, or --force to replace its "
            f"{', '.join(FILES)} and package folders"
        )
    sdk_version = gradio_version()
    requirements = space_requirements(project, BACKENDS[backend])
    folder.mkdir(parents=True, exist_ok=True)
    for package in packages:
        shutil.rmtree(folder / package, ignore_errors=True)
        shutil.copytree(
            root / package, folder / package, ignore=shutil.ignore_patterns("__pycache__", "*.pyc")
        )
    (folder / "app.py").write_text(APP_PY)
    extras = ",".join(BACKENDS[backend])
    (folder / "requirements.txt").write_text(
        REQUIREMENTS.format(extras=extras, lines="\n".join(requirements))
    )
    (folder / "README.md").write_text(
        space_readme(sdk_version=sdk_version, backend=backend, extras=extras)
    )
    return SpaceFolder(folder, backend, packages, requirements, sdk_version)


def space_requirements(project: dict, extras: tuple[str, ...]) -> tuple[str, ...]:
    """The core dependencies and those of `extras`, each once, without what the SDK installs."""
    declared = project["project"]
    lines = [*declared["dependencies"]]
    for extra in extras:
        lines.extend(declared["optional-dependencies"][extra])
    keep = [line for line in lines if _distribution(line) not in FROM_SDK]
    return tuple(dict.fromkeys(keep))


def _distribution(requirement: str) -> str:
    """'gradio' of 'gradio>=5', 'hopsworks' of 'hopsworks[python]>=5.2.1,<6'."""
    name = requirement
    for stop in "[<>=!~; ":
        name = name.split(stop, 1)[0]
    return name.strip().lower()


def space_readme(*, sdk_version: str, backend: str, extras: str) -> str:
    """The Space's README.md: its front matter, what it shows and each backend's settings."""
    template = resources.files("inference_app").joinpath("space_readme.md").read_text()
    return Template(template).substitute(sdk_version=sdk_version, backend=backend, extras=extras)


def gradio_version() -> str:
    """The installed Gradio's version: the Space runs the one the app was tested with."""
    try:
        return metadata.version("gradio")
    except metadata.PackageNotFoundError:
        raise SettingsError(
            "Gradio is not installed, so the Space's sdk_version is unknown; install the app "
            "extra (pip install -e '.[app]') and build again"
        ) from None


def source_project() -> tuple[Path, dict]:
    """The checkout these sources come from, and its pyproject.toml."""
    root = Path(__file__).resolve().parents[1]
    pyproject = root / "pyproject.toml"
    if not pyproject.is_file():
        raise SettingsError(
            f"no pyproject.toml in {root}: candlecast is installed from a wheel, not a source "
            "checkout; run `space build` from a clone (pip install -e .)"
        )
    project = tomllib.loads(pyproject.read_text())
    if project.get("project", {}).get("name") != "candlecast":
        raise SettingsError(f"{pyproject} does not describe the candlecast package")
    return root, project


def register(app: typer.Typer) -> None:
    """Add this module's commands to the CLI."""
    space_app.command("build")(build)
    app.add_typer(space_app, name="space")
