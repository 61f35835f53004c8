"""Every process the benchmark starts runs in a process group of its own, with a time limit,
and is stopped when the run ends, fails or is interrupted."""

from __future__ import annotations

import contextlib
import subprocess
from pathlib import Path
from typing import Any

from tests.harness import spawn, stop_server


class Processes:
    """The process groups this run started; ``stop_all`` ends whatever is left."""

    def __init__(self) -> None:
        self.running: dict[int, subprocess.Popen[Any]] = {}

    def spawn(self, args: list[str], cwd: Path, env: dict[str, str], log: Path) -> subprocess.Popen[Any]:
        process = spawn(args, cwd, env, log)
        self.running[process.pid] = process
        return process

    def stop(self, process: subprocess.Popen[Any], grace: float = 10.0) -> None:
        self.running.pop(process.pid, None)
        stop_server(process, grace)

    def stop_many(self, processes: list[subprocess.Popen[Any]], grace: float = 10.0) -> None:
        """Stop several groups at once: all are asked to end, then each is waited for."""
        for process in processes:
            with contextlib.suppress(ProcessLookupError):
                process.terminate()
        for process in processes:
            self.stop(process, grace)

    def stop_all(self) -> None:
        self.stop_many(list(self.running.values()), grace=5.0)


PROCESSES = Processes()


def bounded(
    args: list[str], timeout: float, cwd: Path | None = None, env: dict[str, str] | None = None
) -> tuple[int, str]:
    """Run a command in its own process group; kill the group when it outlives ``timeout``."""
    process = subprocess.Popen(
        args,
        cwd=cwd,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    PROCESSES.running[process.pid] = process
    try:
        output, _ = process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        PROCESSES.stop(process)
        raise RuntimeError(f"`{' '.join(args)}` did not finish within {timeout:.0f} s; stopped it") from None
    finally:
        PROCESSES.running.pop(process.pid, None)
    return process.returncode, output.decode(errors="replace")


def terminate(signum: int, _frame: Any) -> None:
    raise SystemExit(f"stopped by signal {signum}")


def say(message: str) -> None:
    print(message, flush=True)
