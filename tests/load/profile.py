"""py-spy on the real service processes during a load stage, and the top entries of each profile.

py-spy is a development tool (`pip install py-spy`); `make load LOAD_ARGS="--profile DIR"` uses it
when it is installed. The collapsed stacks stay in DIR for flame graphs.
"""
import shutil
import subprocess
import sys
from collections import Counter
from pathlib import Path


def start(pids: dict[str, int], seconds: float, directory: Path) -> list[subprocess.Popen]:
    spy = shutil.which("py-spy") or shutil.which("py-spy", path=str(Path(sys.executable).parent))
    if spy is None:
        raise FileNotFoundError("--profile needs py-spy: pip install py-spy")
    directory.mkdir(parents=True, exist_ok=True)
    return [subprocess.Popen([spy, "record", "--pid", str(pid), "--duration", str(int(seconds)), "--rate", "200",
                              "--format", "raw", "--gil", "--nonblocking", "--output", str(directory / f"{name}.txt")],
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            for name, pid in pids.items()]


def top(collapsed: Path, entries: int = 12) -> list[tuple[str, float, float]]:
    """(function, self %, inclusive %) of the busiest functions; idle waiting (select/epoll) left out."""
    own, inclusive, total = Counter(), Counter(), 0
    for line in collapsed.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        frames = [frame.split(" (")[0] + " (" + frame.split(" (")[-1].split(":")[0].rsplit("/", 1)[-1]
                  for frame in stack.split(";") if frame]
        if not frames or any(idle in frames[-1] for idle in ("select (", "poll (", "epoll")):
            continue
        samples = int(count)
        total += samples
        own[frames[-1]] += samples
        for frame in set(frames):
            inclusive[frame] += samples
    return [(name, 100 * own[name] / total, 100 * inclusive[name] / total) for name, _ in own.most_common(entries)]


def report(directory: Path) -> None:
    for collapsed in sorted(directory.glob("*.txt")):
        print(f"\n{collapsed.stem}: busiest functions (self %, inclusive %)")
        for name, self_share, inclusive_share in top(collapsed):
            print(f"  {self_share:5.1f} {inclusive_share:5.1f}  {name}")
