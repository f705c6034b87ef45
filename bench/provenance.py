"""Where a result was measured and from which code, said beside the table that shows it.

Every result file written by :func:`bench.common.write_result` records its date, command,
machine (CPU model, cores, load) and code (git commit, and a hash of any uncommitted changes).
A report is made against one commit, its *reference* (``HEAD`` when it is generated): a result
from another commit is marked as older code with how many commits it predates the reference,
and one that recorded no commit with how many commits were made after its date. Uncommitted
changes are named as such: they cannot be traced to a commit.
"""

from __future__ import annotations

import functools
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.common import ROOT

Result = dict[str, Any]


def _git(*args: str, root: Path = ROOT) -> str | None:
    try:
        done = subprocess.run(
            ["git", "-C", str(root), *args], capture_output=True, text=True, timeout=60
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return done.stdout.strip() if done.returncode == 0 else None


@functools.cache
def head_commit(root: Path = ROOT) -> str | None:
    return _git("rev-parse", "--verify", "HEAD", root=root)


@functools.cache
def commits_between(older: str, newer: str, root: Path = ROOT) -> int | None:
    """How many commits ``newer`` has that ``older`` has not (None: git cannot tell)."""
    count = _git("rev-list", "--count", f"{older}..{newer}", root=root)
    return int(count) if count and count.isdigit() else None


@functools.cache
def commits_after(date: str, newer: str, root: Path = ROOT) -> int | None:
    """How many commits up to ``newer`` were made after ``date`` (ISO 8601)."""
    count = _git("rev-list", "--count", f"--since={date}", newer, root=root)
    return int(count) if count and count.isdigit() else None


def cpu_name(machine: dict[str, Any] | None) -> str:
    """``AMD EPYC``, ``Intel Xeon``: the CPU model without trademark signs and filler."""
    cpu = str((machine or {}).get("cpu") or "machine not recorded")
    for noise in ("(R)", "(TM)", " Processor", " CPU"):
        cpu = cpu.replace(noise, "")
    return " ".join(cpu.split())


def _cores(machine: dict[str, Any]) -> str:
    cores = machine.get("usable_cpus") or machine.get("cpu_count")
    return f"{cores} cores" if cores else "cores not recorded"


def code_of(result: Result) -> tuple[str | None, bool]:
    """The commit a result was measured at, and whether the checkout had uncommitted changes
    (``code`` from ``write_result``, or the top-level fields of older writers)."""
    code = result.get("code")
    if isinstance(code, dict):
        return code.get("commit"), bool(code.get("diff_sha256"))
    commit = result.get("commit")
    return (str(commit) if commit else None), bool(result.get("uncommitted_changes"))


def date_of(result: Result) -> str | None:
    date = result.get("date") or result.get("measured") or result.get("started")
    return str(date) if date else None


def load_of(result: Result) -> list[float]:
    """The 1, 5 and 15 minute load averages when the result was written (or finished)."""
    for where in (result.get("machine") or {}, result, result.get("load_after") or {}):
        if isinstance(where, dict) and where.get("load_average"):
            return [round(float(x), 2) for x in where["load_average"]]
    return []


def overloaded(result: Result) -> str | None:
    """A warning when more work was waiting than the machine has cores: timings read high."""
    machine = result.get("machine") or {}
    load, cores = load_of(result), machine.get("usable_cpus") or machine.get("cpu_count")
    if not load or not cores or load[0] <= 1.5 * cores:
        return None
    return (
        f"The machine was overloaded (load {load[0]:g} on {cores} cores): times read high, "
        "and a verdict on a time goal is the machine's as much as the code's."
    )


@dataclass(frozen=True, slots=True)
class Provenance:
    """Says where results came from, against the report's reference commit."""

    reference: str | None
    root: Path = ROOT
    """The git checkout whose history dates the results."""

    def __post_init__(self) -> None:
        if self.reference and len(self.reference) < 40:  # an abbreviation: the full name
            full = _git("rev-parse", "--verify", f"{self.reference}^{{commit}}", root=self.root)
            object.__setattr__(self, "reference", full or self.reference)

    @classmethod
    def at_head(cls, root: Path = ROOT) -> Provenance:
        return cls(head_commit(root), root)

    def is_current(self, result: Result) -> bool:
        """Measured at the reference commit (with or without uncommitted changes)."""
        commit, _ = code_of(result)
        return commit is not None and commit == self.reference

    def age(self, result: Result) -> str:
        """``at f5bcf860 (the report's commit) with uncommitted changes``, ``at 8f0962e9,
        21 commits before the report's``, ``no commit recorded; 40 commits since its date``."""
        commit, dirty = code_of(result)
        changes = ", with uncommitted changes (not traceable to a commit)" if dirty else ""
        if commit is None:
            date = date_of(result)
            since = (
                commits_after(date, self.reference, self.root) if date and self.reference else None
            )
            made = f"; {since} commits made since its date" if since is not None else ""
            return f"**no commit recorded**{made}"
        if commit == self.reference:
            return f"at commit {commit[:8]}, the report's{changes}"
        behind = commits_between(commit, self.reference, self.root) if self.reference else None
        count = f", {behind} commits before the report's" if behind is not None else ""
        return f"**older code**: at commit {commit[:8]}{count}{changes}"

    def machine(self, result: Result) -> str:
        machine = result.get("machine") or {}
        load = load_of(result)
        where = f"{cpu_name(machine)} ({_cores(machine)}"
        return where + (f", load {', '.join(f'{x:g}' for x in load)})" if load else ")")

    def stamp(self, result: Result) -> str:
        """One line under a table: date, machine and load, command, code."""
        quick = " **(quick mode: subsets, smoke test only)**" if result.get("quick") else ""
        date = (date_of(result) or "date not recorded")[:16].replace("T", " ")
        command = result.get("command")
        ran = f" with `{command}`" if command else ""
        busy = overloaded(result)
        return f"_Measured {date} on {self.machine(result)}{ran}; {self.age(result)}.{quick}_" + (
            f" **{busy}**" if busy else ""
        )

    def cell(self, result: Result) -> str:
        """The same, short, for a table column: ``AMD EPYC · 2026-11-30 · 5be23329 (old)``."""
        commit, dirty = code_of(result)
        date = (date_of(result) or "?")[:10]
        if commit is None:
            code = "no commit"
        elif commit == self.reference:
            code = f"{commit[:8]}{'+' if dirty else ''}"
        else:
            behind = commits_between(commit, self.reference, self.root) if self.reference else None
            code = f"{commit[:8]}{'+' if dirty else ''}, " + (
                f"{behind} commits old" if behind is not None else "older"
            )
        return f"{cpu_name(result.get('machine'))} · {date} · {code}"
