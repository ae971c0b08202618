"""Range checks for the experiments' and benchmarks' arguments: each bad value is one
`error:` line naming the flag and what is allowed (argparse's usage error, exit 2), given
before any work starts."""

from __future__ import annotations

import argparse
import math
from pathlib import Path


def flag(name: str) -> str:
    """`out_dir` -> `--out-dir`."""
    return "--" + name.replace("_", "-")


def at_least(parser: argparse.ArgumentParser, args: argparse.Namespace, **minimums: int) -> None:
    """Refuse each named integer argument below its minimum (an unset `None` is left alone)."""
    for name, low in minimums.items():
        value = getattr(args, name)
        if value is not None and value < low:
            parser.error(f"{flag(name)} must be >= {low}, got {value}")


def positive(parser: argparse.ArgumentParser, args: argparse.Namespace, *names: str) -> None:
    """Refuse each named float argument that is not a finite number > 0 (nan, inf, 0, < 0)."""
    for name in names:
        value = getattr(args, name)
        if value is not None and not 0 < value < math.inf:
            parser.error(f"{flag(name)} must be a finite number > 0, got {value:g}")


def probability(
    parser: argparse.ArgumentParser, args: argparse.Namespace, *names: str, open_interval: bool = False
) -> None:
    """Refuse each named float argument outside [0, 1] (or (0, 1) with `open_interval`)."""
    for name in names:
        value = getattr(args, name)
        if value is None:
            continue
        if not (0 < value < 1 if open_interval else 0 <= value <= 1):
            allowed = "strictly between 0 and 1" if open_interval else "a number from 0 to 1"
            parser.error(f"{flag(name)} must be {allowed}, got {value:g}")


def folder(parser: argparse.ArgumentParser, args: argparse.Namespace, *names: str) -> None:
    """Refuse each named path argument that exists and is not a folder (an output folder)."""
    for name in names:
        value = getattr(args, name)
        if value and Path(value).exists() and not Path(value).is_dir():
            parser.error(f"{flag(name)} {value}: is a file, not a folder")
