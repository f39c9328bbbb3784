"""Type stubs for libimdb, the Python module over imdb's C library (python/libimdb.c)."""
import os
from types import TracebackType
from typing import Iterable, Optional, Type, Union

__version__: str

class Error(Exception):
    """Base class of the errors libimdb reports."""
    status: int

class DataError(Error, ValueError):
    """A model file that is corrupt, truncated, foreign or newer."""

class UsageError(Error, ValueError):
    """An argument the library refuses (e.g. explain on a kind that cannot)."""

class InternalError(Error, RuntimeError):
    """A bug or a resource limit in the library."""

_Path = Union[str, bytes, os.PathLike[str], os.PathLike[bytes]]

class Model:
    """A sentiment model trained by imdb-train, opened from a file."""

    def __init__(self, path: _Path, threads: int = 1) -> None: ...
    @property
    def kind(self) -> str: ...
    @property
    def info(self) -> dict[str, Union[str, bool, float]]:
        """kind, params, clean (str), can_explain (bool), load_seconds, threshold (float)."""
    @property
    def closed(self) -> bool: ...
    @property
    def threads(self) -> int: ...
    @property
    def path(self) -> Union[str, bytes]: ...
    @property
    def threshold(self) -> float: ...
    def predict(
        self, texts: Iterable[str], threads: Optional[int] = None, *,
        threshold: Optional[float] = None
    ) -> list[tuple[str, float]]: ...
    def predict_proba(
        self, texts: Iterable[str], threads: Optional[int] = None
    ) -> list[float]: ...
    def explain(self, text: str, k: int = 5) -> tuple[float, list[tuple[str, float]]]: ...
    def verify(self) -> None: ...
    def close(self) -> None: ...
    def __enter__(self) -> "Model": ...
    def __exit__(
        self,
        exc_type: Optional[Type[BaseException]],
        exc: Optional[BaseException],
        tb: Optional[TracebackType],
    ) -> bool: ...
