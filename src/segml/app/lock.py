"""The project's run lock: one `segml` command at a time changes a project.

Only the command line takes it (`segml run`, `score`, `compose`, `generate`): a second command
would rewrite params.yaml or the outputs under the first one.
"""

from __future__ import annotations

import json
import os
import time
from contextlib import contextmanager
from pathlib import Path

from segml.errors import ProjectBusyError


@contextmanager
def run_lock(path: str | Path, command: str):
    """Hold the project's run lock for the block, or refuse at once naming the holder.

    The lock is an advisory `flock` on `path`, so the operating system releases it when its
    holder dies, however it dies: a lock left by a killed run is simply taken over. The file
    records the holder's pid and command for the message. Where `flock` does not exist
    (Windows) the block runs unguarded.
    """
    try:
        import fcntl
    except ImportError:
        yield
        return
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    handle = path.open("a+", encoding="utf-8")
    try:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = ""
            for _ in range(20):  # the holder writes its record just after locking
                holder = path.read_text(encoding="utf-8").strip()
                if holder:
                    break
                time.sleep(0.05)
            record = json.loads(holder) if holder.startswith("{") else {}
            raise ProjectBusyError(
                "another segml command is running in this project: "
                f"pid {record.get('pid', '?')} (`{record.get('command', '?')}`, started "
                f"{record.get('started', '?')}). Nothing was changed; wait for it to finish or "
                f"stop it (lock file {path})."
            ) from None
        handle.seek(0)
        handle.truncate()
        record = {
            "pid": os.getpid(),
            "command": command,
            "started": time.strftime("%Y-%m-%d %H:%M:%S"),
        }
        handle.write(json.dumps(record, ensure_ascii=False))
        handle.flush()
        try:
            yield
        finally:
            handle.seek(0)
            handle.truncate()  # an empty record: nobody holds it
            fcntl.flock(handle, fcntl.LOCK_UN)
    finally:
        handle.close()
