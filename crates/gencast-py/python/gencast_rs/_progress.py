"""Progress bars (tqdm, when installed) and Ctrl-C handling around the engine's calls.

The engine runs without the GIL on a worker thread; the calling thread waits in short,
interruptible joins. Ctrl-C there sets a flag that the engine's per-denoiser-call progress
callback turns into an exception, which stops the computation within one denoiser call; then
KeyboardInterrupt is raised in the caller.
"""

from __future__ import annotations

import threading
from typing import Any, Callable


class _Stop(Exception):
    """Raised inside the progress callback to stop the engine."""


class Progress:
    """A tqdm bar over the (member, step) pairs of a run, or nothing."""

    def __init__(self, enabled: bool, total_steps: int, member_offset: int, steps: int):
        self._bar = None
        self._total_steps = total_steps
        self._offset = member_offset
        self._steps = steps
        self._enabled = bool(enabled)

    def _update(self, member: int, step: int, calls: int, per_step: int) -> None:
        if not self._enabled:
            return
        if self._bar is None:
            try:
                from tqdm.auto import tqdm
            except ImportError:
                self._enabled = False
                return
            self._bar = tqdm(total=self._total_steps * per_step, unit="call", desc="forecast")
        self._bar.set_description(
            f"member {self._offset + member} step {step + 1}/{self._steps}", refresh=False
        )
        self._bar.update(1)

    def callback(self, stop: threading.Event) -> Callable[[int, int, int, int], None]:
        """The engine's progress callback: updates the bar; raises once ``stop`` is set."""

        def report(member: int, step: int, calls: int, per_step: int) -> None:
            if stop.is_set():
                raise _Stop()
            self._update(member, step, calls, per_step)

        return report

    def close(self) -> None:
        """Closes the bar."""
        if self._bar is not None:
            self._bar.close()
            self._bar = None


def run_interruptibly(bar: Progress, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    """Calls ``fn(*args, progress=..., **kwargs)`` on a worker thread; Ctrl-C stops it cleanly
    and raises KeyboardInterrupt."""
    stop = threading.Event()
    result: dict = {}

    def work() -> None:
        try:
            result["value"] = fn(*args, progress=bar.callback(stop), **kwargs)
        except BaseException as e:  # handed to the calling thread
            result["error"] = e

    worker = threading.Thread(target=work, name="gencast_rs forecast", daemon=True)
    worker.start()
    try:
        while worker.is_alive():
            worker.join(0.1)
    except KeyboardInterrupt:
        stop.set()
        worker.join()
        raise
    finally:
        bar.close()
    if "error" in result:
        raise result["error"]
    return result.get("value")
