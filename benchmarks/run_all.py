"""Reproduce every benchmark figure: quality (evaluate.py), then speed (speed.py).

    python benchmarks/run_all.py [--skip-peers]

Runs the two scripts one after the other (they share two cores) and writes
results/quality.{md,json,png} and results/speed.{md,json}.
"""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent


def main() -> None:
    extra = [a for a in sys.argv[1:] if a == "--skip-peers"]
    started = time.perf_counter()
    for script in ("evaluate.py", "speed.py"):
        subprocess.run([sys.executable, str(HERE / script), *extra], check=True)
    print(f"done in {(time.perf_counter() - started) / 60:.0f} min: see {HERE / 'results'}")


if __name__ == "__main__":
    main()
