"""Live progress of a run, fed by the wrapper's events.

On a terminal a rich table shows a row per host (current role and task, ok/changed/failed
counts, elapsed time). Anywhere else (CI logs) one plain line per task result is printed.
"""

from __future__ import annotations

import sys
import threading
from collections.abc import Mapping
from types import TracebackType
from typing import TYPE_CHECKING, Any, TextIO

from mlcops.runner import RESULT_EVENTS, RunState

if TYPE_CHECKING:
    from rich.console import Console
    from rich.table import Table

_STYLE = {"ok": "green", "failed": "red", "unreachable": "red", "running": "cyan"}


def _clock(seconds: float) -> str:
    minutes, secs = divmod(int(seconds), 60)
    return f"{minutes}:{secs:02d}"


class PlainProgress:
    """One line per task result and per play: ``host  status  role : task``."""

    def __init__(self, stream: TextIO | None = None) -> None:
        """Write to ``stream`` (default stdout)."""
        self.stream = stream or sys.stdout
        self._lock = threading.Lock()

    def __call__(self, state: RunState, event: Mapping[str, Any]) -> None:
        """Print the line of one event, if it is one worth a line."""
        kind = str(event.get("event", ""))
        data: Mapping[str, Any] = event.get("event_data") or {}
        line = ""
        if kind == "playbook_on_play_start":
            line = f"PLAY {data.get('play', '')}"
        elif kind in RESULT_EVENTS and kind != "runner_item_on_failed":
            last = state.results[-1] if state.results else None
            status = last.status if last else RESULT_EVENTS[kind]
            if last and last.changed:
                status = "changed"
            task = (
                f"{data.get('role')} : {data.get('task')}" if data.get("role") else data.get("task")
            )
            line = f"{data.get('host')}  {status}  {task}"
            if last and last.message:
                line += f"  -- {last.message}"
        if line:
            with self._lock:
                print(line, file=self.stream, flush=True)

    def __enter__(self) -> PlainProgress:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        return None


class LiveProgress:
    """A rich table, a row per host, refreshed as events arrive."""

    def __init__(self, state: RunState, console: Console | None = None) -> None:
        """Show ``state`` on ``console`` (default: a console on stdout)."""
        # rich is imported here, by the terminal view only: plain progress starts sooner.
        from rich.console import Console
        from rich.live import Live

        self.state = state
        self.console = console or Console()
        self.live = Live(
            console=self.console, get_renderable=self.render, refresh_per_second=4, transient=False
        )

    def render(self) -> Table:
        """Build the table of the current state."""
        from rich.table import Table

        state = self.state
        title = f"{state.play or 'starting'}  ({_clock(state.elapsed())})"
        table = Table(title=title, title_justify="left", expand=False)
        for column in ("host", "role", "task", "ok", "changed", "failed", "elapsed", "status"):
            table.add_column(column, justify="right" if column in ("ok", "changed") else "left")
        for host in list(state.hosts.values()):
            status = host.status
            table.add_row(
                host.name,
                host.role,
                host.task,
                str(host.ok),
                str(host.changed),
                str(host.failed),
                _clock(host.elapsed),
                f"[{_STYLE.get(status, 'white')}]{status}[/]",
            )
        return table

    def __call__(self, state: RunState, event: Mapping[str, Any]) -> None:
        """Events only change the state; rich redraws it four times a second."""
        return None

    def __enter__(self) -> LiveProgress:
        self.live.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.live.stop()
