"""Board power from ``nvidia-smi``, sampled in a background thread while the timed window runs.

``nvidia-smi --query-gpu=power.draw --format=csv,noheader,nounits -lms 100`` prints one line per sample:
the board's power draw in watts (``345.67``), or ``[N/A]`` / ``[Not Supported]`` where the board does not
report it. The figure is the board boundary (the card or module, not the server's wall power).
No torch here: the parser is tested without a GPU.
"""

from __future__ import annotations

import shutil
import subprocess
import threading
from dataclasses import dataclass

#: How often nvidia-smi samples, in milliseconds (its -lms loop).
SAMPLE_MS = 100


def parse_power_line(line: str) -> float | None:
    """One nvidia-smi power.draw line in watts, or None for a line with no reading ([N/A], blank).

    Raises ValueError for a line that is neither a number nor nvidia-smi's bracketed "no reading".
    """
    text = line.strip()
    if text.endswith(" W"):  # --format=csv without nounits prints "345.67 W"
        text = text[:-2].strip()
    if not text or (text.startswith("[") and text.endswith("]")):
        return None
    watts = float(text)  # ValueError names the text
    if not 0 <= watts < 100_000:
        raise ValueError(f"power.draw {watts!r} W is outside 0-100000 W")
    return watts


def parse_power_samples(text: str) -> tuple[list[float], int]:
    """Every reading in nvidia-smi's output, and the count of lines that were not readings."""
    watts, unreadable = [], 0
    for line in text.splitlines():
        try:
            w = parse_power_line(line)
        except ValueError:
            unreadable += 1
            continue
        if w is None:
            if line.strip():
                unreadable += 1
            continue
        watts.append(w)
    return watts, unreadable


@dataclass(frozen=True)
class PowerReading:
    """Board power over one timed window: mean and peak of the samples, or why there is none."""

    mean_w: float | None
    peak_w: float | None
    samples: int
    absent: str | None = None  # the reason there is no figure

    @classmethod
    def from_samples(cls, watts: list[float], unreadable: int = 0) -> PowerReading:
        if not watts:
            why = "nvidia-smi gave no power.draw reading during the timed window"
            if unreadable:
                why += f" ({unreadable} lines were [N/A] or unreadable: the board may not report power)"
            return cls(None, None, 0, why)
        return cls(sum(watts) / len(watts), max(watts), len(watts))


class PowerSampler:
    """Runs nvidia-smi's sampling loop between ``start()`` and ``stop()`` (a context manager too)."""

    def __init__(self, gpu_index: str = "0", nvidia_smi: str | None = None) -> None:
        self.gpu_index = gpu_index
        self.nvidia_smi = nvidia_smi or shutil.which("nvidia-smi")
        self._proc: subprocess.Popen[str] | None = None
        self._thread: threading.Thread | None = None
        self._lines: list[str] = []
        self._error: str | None = None

    @property
    def lines_seen(self) -> int:
        """Lines nvidia-smi has printed so far (a test waits on this instead of sleeping)."""
        return len(self._lines)

    def command(self) -> list[str]:
        return [
            str(self.nvidia_smi),
            "--query-gpu=power.draw",
            "--format=csv,noheader,nounits",
            "-lms",
            str(SAMPLE_MS),
            "-i",
            self.gpu_index,
        ]

    def start(self) -> PowerSampler:
        if not self.nvidia_smi:
            self._error = "nvidia-smi is not on PATH: board power not sampled"
            return self
        try:
            self._proc = subprocess.Popen(
                self.command(), stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True
            )
        except OSError as exc:
            self._error = f"nvidia-smi could not start ({exc.strerror or exc}): board power not sampled"
            return self
        self._thread = threading.Thread(target=self._read, name="nvidia-smi power", daemon=True)
        self._thread.start()
        return self

    def _read(self) -> None:
        assert self._proc is not None and self._proc.stdout is not None
        for line in self._proc.stdout:
            self._lines.append(line)

    def stop(self) -> PowerReading:
        if self._error:
            return PowerReading(None, None, 0, self._error)
        if self._proc is None:
            return PowerReading(None, None, 0, "the power sampler was never started")
        self._proc.terminate()
        try:
            self._proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self._proc.kill()
            self._proc.wait(timeout=5)
        if self._thread is not None:
            self._thread.join(timeout=5)
        watts, unreadable = parse_power_samples("".join(self._lines))
        return PowerReading.from_samples(watts, unreadable)

    def __enter__(self) -> PowerSampler:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        if self._proc is not None and self._proc.poll() is None:
            self._proc.kill()
            self._proc.wait(timeout=5)


def query_gpu(field: str, gpu_index: str = "0") -> str | None:
    """One nvidia-smi --query-gpu field (name, driver_version ...), or None where it cannot be read."""
    exe = shutil.which("nvidia-smi")
    if not exe:
        return None
    try:
        out = subprocess.run(
            [exe, f"--query-gpu={field}", "--format=csv,noheader", "-i", gpu_index],
            capture_output=True,
            text=True,
            timeout=30,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return None
    return out.splitlines()[0].strip() if out else None
