"""Package list only (metadata lives in pyproject.toml).

cli/ and server/ sit at the top of the repository but install as vecdb.cli and vecdb.server, so
`vecdb` is the only top-level name a user's site-packages gets (tests/test_packaging.py checks it)."""
from setuptools import find_packages, setup


def mapped(folder: str) -> list[str]:
    return [f"vecdb.{folder}"] + [f"vecdb.{folder}.{p}" for p in find_packages(folder)]


setup(packages=find_packages(include=["vecdb", "vecdb.*"]) + mapped("cli") + mapped("server"),
      package_dir={"vecdb.cli": "cli", "vecdb.server": "server"})
