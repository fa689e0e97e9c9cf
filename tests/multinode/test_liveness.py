"""Advisory-lock liveness: an engine is alive while its database session holds its lock."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid

from cli.processes import child_env
from metadata_server.engine.liveness import AdvisoryLockLiveness

HOLDER = """
import sys, time
from metadata_server.engine.liveness import AdvisoryLockLiveness
held = AdvisoryLockLiveness(sys.argv[1])  # kept: its connection holds the lock
held.register(sys.argv[2])
print("holding", flush=True)
time.sleep(120)
"""


def _dsn(db_url: str) -> str:
    return db_url.replace("postgresql+psycopg://", "postgresql://", 1)


def _until_dead(probe: AdvisoryLockLiveness, engine_id: str) -> float:
    """Seconds until `probe` finds `engine_id` dead (at most 30)."""
    started = time.monotonic()
    while probe.alive(engine_id) and time.monotonic() - started < 30:
        time.sleep(0.02)
    return time.monotonic() - started


def test_a_live_engine_a_released_one_and_a_stranger(db_url):
    mine, other = AdvisoryLockLiveness(_dsn(db_url)), AdvisoryLockLiveness(_dsn(db_url))
    first, second = str(uuid.uuid4()), str(uuid.uuid4())
    mine.register(first)
    other.register(second)
    try:
        assert other.alive(first) is True and mine.alive(second) is True
        assert mine.alive(first) is True  # itself, though its own session could take the lock
        assert mine.alive(str(uuid.uuid4())) is False  # no session holds a stranger's
        mine.release()
        assert _until_dead(other, first) < 5  # the session ends a moment after close()
        assert other.alive(first) is False  # asking did not take the lock for good
    finally:
        mine.release()
        other.release()


def test_kill_9_frees_the_lock_within_seconds(db_url):
    engine_id = str(uuid.uuid4())
    holder = subprocess.Popen([sys.executable, "-c", HOLDER, _dsn(db_url), engine_id],
                              stdout=subprocess.PIPE, text=True, env=child_env(),
                              start_new_session=True)
    probe = AdvisoryLockLiveness(_dsn(db_url))
    probe.register(str(uuid.uuid4()))
    try:
        assert holder.stdout.readline().strip() == "holding"
        assert probe.alive(engine_id) is True
        os.kill(holder.pid, signal.SIGKILL)
        holder.wait(10)
        assert _until_dead(probe, engine_id) < 5
    finally:
        if holder.poll() is None:
            os.killpg(holder.pid, signal.SIGKILL)
            holder.wait()
        probe.release()


def test_its_own_lost_session_is_made_again_with_a_grace(db_url):
    from sqlalchemy import create_engine, text
    live, probe = AdvisoryLockLiveness(_dsn(db_url)), AdvisoryLockLiveness(_dsn(db_url))
    engine_id = str(uuid.uuid4())
    live.register(engine_id)
    probe.register(str(uuid.uuid4()))
    db = create_engine(db_url.replace("postgresql://", "postgresql+psycopg://", 1))
    try:
        with db.begin() as conn:
            conn.execute(text("SELECT pg_terminate_backend(:pid)"),
                         {"pid": live._conn.info.backend_pid})
        live.hold()  # the sweep finds the session gone...
        live.hold()  # ... and the next one makes it again, with the lock
        assert probe.alive(engine_id) is True
        # every engine may be reconnecting (a restart of PostgreSQL): no lock is judged yet
        assert live.alive(str(uuid.uuid4())) is None
    finally:
        db.dispose()
        live.release()
        probe.release()
