"""Shared pieces of the evaluation: the run context, cached embeddings, data-file readers and the
section result that the runner turns into markdown and JSON."""

from __future__ import annotations

import csv
import hashlib
import shlex
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

if TYPE_CHECKING:
    from assistant.nlu.embeddings import Encoder
    from assistant.nlu.signal_models import SignalModels
    from assistant.settings import Settings

# Encoding in chunks lets the progress bar move and keeps peak memory flat on the 20k-review Chinese sets.
ENCODE_CHUNK = 1024
console = Console(stderr=True)


class SectionSkipped(Exception):  # noqa: N818 - it is a signal, not an error: the section cannot run yet
    """A section's inputs are missing (data set or project file); the report says which."""


@dataclass
class SectionResult:
    """What one section measured: markdown for the report, plain values for results.json."""

    name: str
    title: str
    markdown: list[str] = field(default_factory=list)
    data: dict[str, Any] = field(default_factory=dict)
    seconds: float = 0.0
    skipped: str | None = None


@dataclass
class EvalContext:
    """Everything a section needs: where the data is, where to write, how to reproduce, and the encoder."""

    settings: Settings | None
    data_root: Path
    out_dir: Path
    quick: bool
    seed: int = 13
    _encoder: Encoder | None = None
    _signals: SignalModels | None = None

    @property
    def cache_dir(self) -> Path:
        return self.out_dir / "cache"

    @property
    def encoder(self) -> Encoder:
        # Loaded lazily so a run of sections that need no embeddings starts instantly.
        if self._encoder is None:
            from assistant.nlu.embeddings import shared_encoder

            self._encoder = shared_encoder()
        return self._encoder

    def signal_models(self) -> SignalModels:
        """The shipped signal models, trained once per run from the package's example files."""
        if self._signals is None:
            from assistant.nlu.signal_models import SignalModels

            console.log("training the shipped signal models (sentiment, moderation, risk)")
            self._signals = SignalModels.train(self.encoder)
        return self._signals

    def command(self, section: str) -> str:
        """The exact command line that reproduces one section's numbers."""
        parts = [
            ".venv/bin/python",
            "-m",
            "assistant.cli",
            "eval",
            "--data",
            str(self.data_root),
            "--out",
            str(self.out_dir),
            "--only",
            section,
        ]
        if self.quick:
            parts.append("--quick")
        return shlex.join(parts)

    def reproduce(self, section: str) -> str:
        return f"*Reproduce:* `{self.command(section)}`"

    def data_file(self, *parts: str) -> Path:
        path = self.data_root.joinpath(*parts)
        if not path.exists():
            raise SectionSkipped(f"data file {path} not found")
        return path

    def sample(self, items: Sequence[Any], quick_size: int, seed_offset: int = 0) -> list[Any]:
        """All items, or in quick mode a fixed random subset (same subset on every quick run)."""
        return fixed_sample(items, quick_size, self.seed + seed_offset) if self.quick else list(items)

    def embed(self, texts: Sequence[str], label: str) -> np.ndarray:
        """Embeddings of `texts`, read from out_dir/cache when these exact texts were encoded by this model."""
        key = hashlib.sha256()
        key.update(self.encoder.name.encode())
        for text in texts:
            key.update(b"\x1e" + text.encode("utf-8"))
        path = self.cache_dir / f"{label}-{key.hexdigest()[:20]}.npz"
        if path.exists():
            with np.load(path) as stored:
                vectors = np.asarray(stored["vectors"], dtype=np.float32)
            if vectors.shape == (len(texts), self.encoder.dim):
                return vectors
        chunks: list[np.ndarray] = []
        with progress_bar() as progress:
            task = progress.add_task(f"encoding {label}", total=len(texts))
            for start in range(0, len(texts), ENCODE_CHUNK):
                batch = list(texts[start : start + ENCODE_CHUNK])
                chunks.append(self.encoder.encode(batch))
                progress.advance(task, len(batch))
        vectors = np.concatenate(chunks) if chunks else np.zeros((0, self.encoder.dim), dtype=np.float32)
        self.cache_dir.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp.npz")
        np.savez_compressed(tmp, vectors=vectors)
        tmp.replace(path)
        return vectors


def fixed_sample(items: Sequence[Any], size: int, seed: int) -> list[Any]:
    """A reproducible random subset of `size` items, in their original order."""
    if len(items) <= size:
        return list(items)
    picked = np.sort(np.random.default_rng(seed).choice(len(items), size=size, replace=False))
    return [items[int(i)] for i in picked]


def progress_bar() -> Progress:
    return Progress(
        TextColumn("[progress.description]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
        transient=True,
    )


@contextmanager
def stopwatch() -> Iterator[list[float]]:
    """`with stopwatch() as t:` … `t[0]` holds the elapsed seconds after the block."""
    elapsed = [0.0]
    started = time.perf_counter()
    try:
        yield elapsed
    finally:
        elapsed[0] = time.perf_counter() - started


def read_csv(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def read_tsv(path: Path) -> list[dict[str, str]]:
    # Leyzer utterances contain quotes that are not CSV quoting: read the fields verbatim.
    with path.open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle, delimiter="\t", quoting=csv.QUOTE_NONE))


def read_lines(path: Path) -> list[str]:
    # The tweet files have no final newline; splitlines keeps the count right either way.
    return path.read_text(encoding="utf-8").splitlines()


def pct(value: float, digits: int = 1) -> str:
    return f"{100 * value:.{digits}f}%"


def table(header: Sequence[str], rows: Sequence[Sequence[object]]) -> list[str]:
    """A markdown table as lines."""
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(str(cell) for cell in row) + " |" for row in rows]
    return lines


def target_mark(value: float, target: float, higher_is_better: bool = True) -> str:
    met = value >= target if higher_is_better else value <= target
    return "met" if met else "**not met**"


@contextmanager
def saved_figure(path: Path) -> Iterator[tuple[Any, Any]]:
    """(pyplot, axes) of one figure in the report's look, written to `path` as PNG when the block ends."""
    import matplotlib

    matplotlib.use("Agg")  # files only: no display on servers and CI
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6.8, 4.4), dpi=120)
    try:
        yield plt, ax
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7, loc="upper left")
        fig.tight_layout()
        path.parent.mkdir(parents=True, exist_ok=True)
        fig.savefig(path)
    finally:
        plt.close(fig)
