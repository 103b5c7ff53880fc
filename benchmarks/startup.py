"""Start-up time: ``acl --version`` against ``python -c "import numpy"``.

Run ``.venv/bin/python benchmarks/startup.py`` (``--runs N``, default 20). Each command runs
as a fresh process, the commands interleaved (round robin) so that they share the machine's
moments; the figures are the medians of the wall-clock times. The target: ``acl --version``
within 1.5x of ``import numpy`` (numpy is the one import every acl command needs).

``acl --version`` imports the ``acl`` package and the command line's parser, but none of the
command modules (:data:`acl.cli.main.COMMANDS`); ``import acl`` is shown for comparison.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path

TARGET = 1.5
"""``acl --version`` may take at most this many times as long as ``import numpy``."""


def commands() -> dict[str, list[str]]:
    """The timed command lines, by label; ``acl --version`` through the console script next
    to this interpreter when there is one, else ``python -m acl``."""
    script = Path(sys.executable).with_name("acl")
    acl = [str(script)] if script.exists() else [sys.executable, "-m", "acl"]
    return {
        "python -c 'import numpy'": [sys.executable, "-c", "import numpy"],
        "python -c 'import acl'": [sys.executable, "-c", "import acl"],
        "acl --version": [*acl, "--version"],
        "python -m acl --version": [sys.executable, "-m", "acl", "--version"],
    }


def measure(runs: int) -> dict[str, list[float]]:
    """Wall-clock seconds of each command, ``runs`` times, interleaved."""
    timed = commands()
    seconds: dict[str, list[float]] = {label: [] for label in timed}
    for _ in range(runs):
        for label, argv in timed.items():
            start = time.perf_counter()
            subprocess.run(argv, check=True, capture_output=True)
            seconds[label].append(time.perf_counter() - start)
    return seconds


def report(seconds: dict[str, list[float]]) -> str:
    """Medians, each command's ratio to ``import numpy``, and whether the target holds."""
    medians = {label: statistics.median(times) for label, times in seconds.items()}
    numpy = medians["python -c 'import numpy'"]
    runs = len(next(iter(seconds.values())))
    lines = [f"start-up, median of {runs} runs each (interleaved):"]
    for label, median in medians.items():
        lines.append(f"  {label:<28} {median * 1000:8.1f} ms  {median / numpy:5.2f}x numpy")
    ratio = medians["acl --version"] / numpy
    verdict = "met" if ratio <= TARGET else "NOT met"
    lines.append(f"target: acl --version within {TARGET}x of import numpy: {ratio:.2f}x, {verdict}")
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    """Time the commands and print the report; exit 0 (the figures are the result)."""
    parser = argparse.ArgumentParser(prog="python benchmarks/startup.py", description=__doc__)
    parser.add_argument("--runs", type=int, default=20, help="runs of each command (default 20)")
    args = parser.parse_args(argv)
    if args.runs < 1:
        parser.error("--runs must be at least 1")
    print(report(measure(args.runs)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
