"""Type stubs of gencast_rs: GenCast ensemble forecasts on CPUs, from Python and xarray."""

import os
from typing import Any, Iterator, Mapping, Optional, Sequence, Tuple, Union

import xarray as xr

from . import data_utils as data_utils

__version__: str

PathLike = Union[str, os.PathLike[str]]

class GencastError(ValueError):
    """An error of the gencast engine; the message names the file, variable or argument."""

def inspect(path: PathLike) -> dict[str, Any]:
    """What `gencast inspect --json` prints for the checkpoint, as a dict."""

def load(
    checkpoint: PathLike,
    stats: Union[PathLike, Mapping[str, xr.Dataset], Sequence[xr.Dataset]],
) -> Model:
    """Loads a GenCast or GraphCast checkpoint and its statistics (a folder, or the datasets by
    name, or in a list told apart by content)."""

class TaskConfig:
    """A checkpoint's task, field for field the reference's TaskConfig (a dataclass)."""

    input_variables: Tuple[str, ...]
    target_variables: Tuple[str, ...]
    forcing_variables: Tuple[str, ...]
    pressure_levels: Tuple[int, ...]
    input_duration: str
    def __init__(
        self,
        input_variables: Tuple[str, ...],
        target_variables: Tuple[str, ...],
        forcing_variables: Tuple[str, ...],
        pressure_levels: Tuple[int, ...],
        input_duration: str,
    ) -> None: ...

class Model:
    """A loaded GenCast or GraphCast model."""

    @property
    def checkpoint(self) -> str:
        """The checkpoint's path."""
    @property
    def description(self) -> str:
        """The checkpoint's description."""
    @property
    def kind(self) -> str:
        """"gencast" or "graphcast"."""
    @property
    def task_config(self) -> TaskConfig:
        """The checkpoint's task, for data_utils.extract_inputs_targets_forcings."""
    def forecast(
        self,
        dataset: Union[PathLike, xr.Dataset],
        *,
        members: int,
        steps: Optional[int] = None,
        lead_time: Any = None,
        seed: int = 0,
        member_offset: int = 0,
        init_time: Any = None,
        sampler: Union[None, Mapping[str, Any], Sequence[str]] = None,
        threads: Optional[int] = None,
        progress: bool = True,
    ) -> xr.Dataset:
        """An ensemble forecast equal to what xarray reads from `gencast forecast`'s output."""
    def forecast_to(
        self,
        output: PathLike,
        dataset: PathLike,
        *,
        members: int,
        steps: Optional[int] = None,
        lead_time: Any = None,
        seed: int = 0,
        member_offset: int = 0,
        ensemble_size: Optional[int] = None,
        resume: bool = False,
        overwrite: bool = False,
        init_time: Any = None,
        sampler: Union[None, Mapping[str, Any], Sequence[str]] = None,
        threads: Optional[int] = None,
        progress: bool = False,
    ) -> dict[str, Any]:
        """Writes the forecast to a NetCDF file or a (shared) Zarr store, as `gencast forecast`."""
    def chunked_prediction_generator(
        self,
        inputs: xr.Dataset,
        targets_template: xr.Dataset,
        forcings: Optional[xr.Dataset] = None,
        *,
        seed: int = 0,
        num_samples: int = 1,
        member_offset: int = 0,
        progress: bool = False,
    ) -> Iterator[xr.Dataset]:
        """Yields one (member, step) chunk at a time, as the reference's rollout does."""
    def chunked_prediction(
        self,
        inputs: xr.Dataset,
        targets_template: xr.Dataset,
        forcings: Optional[xr.Dataset] = None,
        *,
        seed: int = 0,
        num_samples: int = 1,
        member_offset: int = 0,
        progress: bool = True,
    ) -> xr.Dataset:
        """The reference notebooks' rollout: GenCast's chunks combined by coordinates, or
        GraphCast's rollout.chunked_prediction."""
