"""Type stubs of the compiled extension (used by the pure-Python layer)."""

import os
from typing import Callable, Optional

class GencastError(ValueError): ...

__version__: str

def inspect_json(path: os.PathLike[str] | str) -> str: ...

class Model:
    def __init__(self, checkpoint: os.PathLike[str] | str, stats: os.PathLike[str] | str) -> None: ...
    @property
    def checkpoint(self) -> str: ...
    @property
    def description(self) -> str: ...
    @property
    def pressure_levels(self) -> list[int]: ...
    def output_variables(self) -> list[tuple[str, list[int]]]: ...
    def forecast_to_netcdf(
        self,
        dataset: str,
        output: str,
        *,
        members: int,
        steps: int,
        seed: int,
        member_offset: int,
        init_time: Optional[str],
        sampler: list[str],
        threads: Optional[int],
        progress: Optional[Callable[[int, int, int, int], None]],
    ) -> None: ...
    def rollout(
        self,
        dataset: str,
        *,
        members: int,
        steps: int,
        seed: int,
        member_offset: int,
        init_time: Optional[str],
        sampler: list[str],
        threads: Optional[int],
        on_step: Callable[[int, int, dict], None],
        progress: Optional[Callable[[int, int, int, int], None]],
    ) -> None: ...
