"""Set-up of bench/compare: Debian packages, the build, the machine's facts."""
import os
import platform
import shutil
import subprocess

PACKAGES = ["redis-server", "redis-tools", "libhiredis-dev", "nats-server", "libnats-dev", "iperf3", "fio",
            "python3-matplotlib", "librdkafka-dev"]
SERVICES = ["redis-server", "nats-server"]
TARGETS = ["keel", "keel_builtin_plugins", "keel-load", "keel-wire-load", "keel-tcp-rtt", "keel-hiccup", "keel-redis-xadd", "keel-nats-publish"]


def _installed(pkg):
    r = subprocess.run(["dpkg-query", "-W", "-f=${Status}", pkg], capture_output=True, text=True)
    return r.returncode == 0 and "install ok installed" in r.stdout


def _pids(name):
    r = subprocess.run(["pidof", name], capture_output=True, text=True)
    return set(r.stdout.split())


def install_missing(log):
    missing = [p for p in PACKAGES if not _installed(p)]
    if not missing:
        return
    if os.geteuid() != 0:
        raise SystemExit("compare: missing Debian packages {}; run as root to install them, or install them "
                         "yourself: apt-get install -y {}".format(", ".join(missing), " ".join(missing)))
    before = {s: _pids(s) for s in SERVICES}
    log("installing " + " ".join(missing))
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    subprocess.run(["apt-get", "update", "-qq"], check=True, env=env)
    subprocess.run(["apt-get", "install", "-y", "-qq"] + missing, check=True, env=env, stdout=subprocess.DEVNULL)
    # The packages may start their system services on the default ports;
    # bench/compare runs its own servers, so those are stopped and disabled.
    if os.path.isdir("/run/systemd/system"):
        for s in SERVICES:
            subprocess.run(["systemctl", "disable", "--now", s], capture_output=True)
    for s in SERVICES:
        for pid in _pids(s) - before[s]:
            log("stopping the {} service the install started (pid {})".format(s, pid))
            subprocess.run(["kill", "-TERM", pid], capture_output=True)


def build(root, build_dir, log):
    log("building {} in {}".format(" ".join(TARGETS), build_dir))
    subprocess.run(["cmake", "-S", root, "-B", build_dir, "-DCMAKE_BUILD_TYPE=RelWithDebInfo"], check=True,
                   stdout=subprocess.DEVNULL)
    subprocess.run(["cmake", "--build", build_dir, "-j2", "--target"] + TARGETS, check=True,
                   stdout=subprocess.DEVNULL)


def check_tools(build_dir):
    need = [os.path.join(build_dir, p) for p in ("kernel/keel", "bench/load/keel-load", "bench/wire/keel-wire-load",
                                                 "bench/peers/keel-tcp-rtt",
                                                 "bench/peers/keel-redis-xadd", "bench/peers/keel-nats-publish")]
    missing = [p for p in need if not os.access(p, os.X_OK)]
    missing += [t for t in ("redis-server", "nats-server", "iperf3", "fio") if not shutil.which(t)]
    if missing:
        raise SystemExit("compare: missing {}; run without --no-install/--no-build, or see README "
                         "'Benchmarks'".format(", ".join(missing)))


def load_average():
    return " ".join(open("/proc/loadavg").read().split()[:3])


def _version(cmd):
    try:
        return subprocess.run(cmd, capture_output=True, text=True, timeout=10).stdout.strip().splitlines()[0]
    except (OSError, IndexError, subprocess.TimeoutExpired):
        return "unknown"


def _pkg_version(pkg):
    r = subprocess.run(["dpkg-query", "-W", "-f=${Version}", pkg], capture_output=True, text=True)
    return r.stdout.strip() or "unknown"


def machine(root, work, pinning):
    cpu = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), "unknown")
    mem_kb = next(int(l.split()[1]) for l in open("/proc/meminfo") if l.startswith("MemTotal"))
    fs = subprocess.run(["df", "-T", work], capture_output=True, text=True).stdout.splitlines()[-1].split()[1]
    commit = subprocess.run(["git", "-C", root, "rev-parse", "--short", "HEAD"], capture_output=True,
                            text=True).stdout.strip() or "unknown"
    dirty = subprocess.run(["git", "-C", root, "status", "--porcelain"], capture_output=True, text=True).stdout
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "memory": "{:.0f} GiB RAM".format(mem_kb / 1048576),
        "kernel": platform.release(),
        "os": _version(["sh", "-c", ". /etc/os-release && echo $PRETTY_NAME"]),
        "filesystem": fs,
        "pinning": pinning,
        "load": load_average(),
        "commit": commit + (" (with uncommitted changes)" if dirty.strip() else ""),
        "versions": {
            "redis-server": _pkg_version("redis-server"),
            "nats-server": _pkg_version("nats-server"),
            "libnats": _pkg_version("libnats-dev"),
            "hiredis": _pkg_version("libhiredis-dev"),
            "librdkafka": _pkg_version("librdkafka-dev"),
            "compiler": _version(["c++", "--version"]),
        },
    }
