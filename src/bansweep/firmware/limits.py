"""Bounds shared by every firmware parser and container, and the error parsers raise."""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass
from typing import ParamSpec, TypeVar

P = ParamSpec("P")
R = TypeVar("R")


class FormatError(Exception):
    """A malformed or over-limit input; the message says what, offset says where (if known)."""

    def __init__(self, message: str, offset: int | None = None):
        super().__init__(message if offset is None else f"{message} (at offset 0x{offset:x})")
        self.message = message
        self.offset = offset


class InternalError(FormatError):
    """Any other exception a parser or container raised on an input: a bug, reported against that input."""

    def __init__(self, where: str, exc: BaseException):
        super().__init__(f"internal error {type(exc).__name__} in {where} ({exc}); please report it")
        self.kind = type(exc).__name__


def total(func: Callable[P, R]) -> Callable[P, R]:
    """A parser entry point that raises only FormatError (or MemoryError, which the workers handle)."""

    @functools.wraps(func)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return func(*args, **kwargs)
        except (FormatError, MemoryError):
            raise
        except Exception as exc:
            raise InternalError(func.__qualname__, exc) from exc

    return wrapper


@dataclass(frozen=True, slots=True)
class Limits:
    max_entry_bytes: int = 512 * 2**20  # one decompressed entry
    max_total_bytes: int = 8 * 2**30  # all decompressed bytes of one top-level input: its temp-disk budget
    max_ratio: int = 200  # compression ratio cap (zip bomb; sparse FILL expansion)
    max_depth: int = 4  # archives inside archives
    max_entries: int = 200_000
    max_seconds: float = 600.0  # per top-level input when opening it; per app in a worker (killed past it)
    max_rss_bytes: int = 1_500 * 2**20  # per worker (RLIMIT_AS-style)
