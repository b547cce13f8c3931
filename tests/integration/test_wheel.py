"""What ships, runs: the wheel (and so the container image) carries every file the code
reads, and the services start from it outside the source tree."""

from __future__ import annotations

import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("libs/", "services/", "zhengfeng/")


def tracked_files() -> list[str]:
    listed = subprocess.run(
        ["git", "ls-files", *PACKAGES], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout.split()
    return [f for f in listed if (ROOT / f).exists()]


def build_wheel(tmp_path: Path) -> Path:
    """Build from a copy of the tracked files, as CI's image build does from a clean tree."""
    source = tmp_path / "src"
    for name in [*tracked_files(), "pyproject.toml", "README.md"]:
        target = source / name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(ROOT / name, target)
    out = tmp_path / "dist"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "--no-build-isolation",
            "-q",
            "-w",
            str(out),
            str(source),
        ],
        check=True,
        capture_output=True,
    )
    (wheel,) = out.glob("zhengfeng-*.whl")
    return wheel


def test_the_wheel_carries_every_data_file_and_the_services_start_from_it(
    tmp_path: Path,
) -> None:
    wheel = build_wheel(tmp_path)
    shipped = set(zipfile.ZipFile(wheel).namelist())
    data = [f for f in tracked_files() if not f.endswith(".py")]
    missing = [f for f in data if f not in shipped]
    assert missing == [], f"the wheel lacks files the code reads: {missing}"

    installed = tmp_path / "site"
    zipfile.ZipFile(wheel).extractall(installed)
    # Outside the tree: only the wheel's files (and the environment's dependencies).
    probe = (
        "import sys; sys.path.remove('') if '' in sys.path else None\n"
        "from services.intake.app import create as intake\n"
        "from services.analysis.app import create as analysis\n"
        "from services.casework.app import create as casework\n"
        "from services.accountability.app import create as accountability\n"
        "import services.intake.app as m\n"
        f"assert m.__file__.startswith({str(installed)!r}), m.__file__\n"
        "for create in (intake, analysis, casework, accountability):\n"
        "    app = create()\n"
        "    assert app.openapi()['paths'], app.title\n"
        "print('ok')\n"
    )
    run = subprocess.run(
        [sys.executable, "-s", "-c", probe],
        cwd=tmp_path,
        env={"PYTHONPATH": str(installed), "HOME": str(tmp_path), "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert run.returncode == 0 and run.stdout.strip() == "ok", run.stderr[-3000:]
