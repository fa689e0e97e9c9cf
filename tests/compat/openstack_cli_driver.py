"""Runs `openstack` commands in one process of the client's own venv (its python runs this file):
one JSON argv per line on stdin, one JSON answer {code, out, err} per line on stdout. The client
is imported once, so a table of commands costs one start-up, not one per command."""
import contextlib
import io
import json
import sys

from openstackclient import shell

answers = sys.stdout
for line in sys.stdin:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            code = shell.OpenStackShell().run(json.loads(line))
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else 1
        except Exception as exc:  # noqa: BLE001 - a client crash is an answer, not the end
            code, err = 99, io.StringIO(f"Traceback: {type(exc).__name__}: {exc}")
    answers.write(json.dumps({"code": code, "out": out.getvalue(), "err": err.getvalue()}) + "\n")
    answers.flush()
