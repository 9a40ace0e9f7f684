"""Type stubs of the compiled extension (used by the pure-Python layer)."""

import os
from typing import Any, Callable, Optional, Union

import numpy as np

class GencastError(ValueError): ...

__version__: str

def inspect_json(path: os.PathLike[str] | str) -> str: ...
def toa_incident_solar_radiation(
    datetime_ns: list[int], lat: np.ndarray, lon: np.ndarray
) -> np.ndarray: ...

# A path, or an xarray.Dataset flattened for the engine (see gencast_rs._memory_dataset).
DatasetArg = Union[str, dict[str, Any]]

ProgressCallback = Callable[[int, int, int, int], None]

class Model:
    def __init__(self, checkpoint: os.PathLike[str] | str, stats: os.PathLike[str] | str) -> None: ...
    @staticmethod
    def with_stats(
        checkpoint: os.PathLike[str] | str,
        stats: dict[str, tuple[list[int], list[tuple[str, list[float], bool]]]],
    ) -> Model: ...
    @property
    def checkpoint(self) -> str: ...
    @property
    def description(self) -> str: ...
    @property
    def kind(self) -> str: ...
    @property
    def step_hours(self) -> int: ...
    @property
    def stats_files(self) -> list[str]: ...
    def output_variables(self) -> list[tuple[str, list[int]]]: ...
    def task_config(self) -> tuple[list[str], list[str], list[str], list[int], str]: ...
    def forecast_in_memory(
        self,
        dataset: DatasetArg,
        *,
        members: int,
        steps: int,
        seed: int,
        member_offset: int,
        init_time: Optional[str],
        sampler: list[str],
        threads: Optional[int],
        progress: Optional[ProgressCallback],
    ) -> dict[str, Any]: ...
    def rollout(
        self,
        dataset: DatasetArg,
        *,
        members: int,
        steps: int,
        seed: int,
        member_offset: int,
        init_time: Optional[str],
        sampler: list[str],
        threads: Optional[int],
        on_step: Callable[[int, int, dict], None],
        progress: Optional[ProgressCallback],
    ) -> None: ...
    def forecast_to(
        self,
        dataset: str,
        output: str,
        *,
        members: int,
        steps: int,
        seed: int,
        member_offset: int,
        ensemble_size: Optional[int],
        resume: bool,
        overwrite: bool,
        init_time: Optional[str],
        sampler: list[str],
        threads: Optional[int],
        progress: Optional[ProgressCallback],
    ) -> tuple[int, int]: ...
