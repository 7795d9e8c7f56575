"""The librdkafka client programs of tests/integration/clients: the build
makes them when librdkafka-dev is there (keel_it_<name>); otherwise they are
compiled here with cc into the test's work directory."""
import os
import subprocess


def librdkafka_program(args, name, workdir):
    """Path of the executable of clients/<name>.c."""
    built = os.path.join(args.build_dir, "tests", "integration", f"keel_it_{name}")
    if os.access(built, os.X_OK):
        return built
    exe = os.path.join(workdir, name)
    source = os.path.join(args.source_dir, "tests", "integration", "clients", f"{name}.c")
    p = subprocess.run(["cc", "-O1", "-o", exe, source, "-lrdkafka"], capture_output=True, text=True, timeout=120)
    if p.returncode != 0:
        raise AssertionError(f"compiling {source} failed (is librdkafka-dev installed?):\n{p.stderr[-3000:]}")
    return exe
