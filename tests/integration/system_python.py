"""Imported first by tests that use kafka-python: it is a Debian package
(python3-kafka), so only the system interpreter has it when another python3
comes first on PATH (pyenv, venv); the test then re-runs itself with
/usr/bin/python3."""
import os
import sys

try:
    import kafka  # noqa: F401
except ImportError:
    if sys.executable != "/usr/bin/python3" and os.path.exists("/usr/bin/python3"):
        os.execv("/usr/bin/python3", ["/usr/bin/python3", *sys.argv])
    raise
