"""Container health probe: GET /healthz of the service this container serves.

Usage: ``python healthcheck.py [PORT]``. Without PORT the service is read from PID 1's
command line (``zhengfeng serve <service>``) and its port from ``ZF_<SERVICE>_PORT`` or
the default. A container that serves no HTTP (migrate, topics, verify) counts as healthy.
Standard library only: the slim image has no curl.
"""

import os
import sys
import urllib.request

DEFAULT_PORTS = {"intake": 8001, "analysis": 8002, "casework": 8003, "accountability": 8004}


def served_service() -> str | None:
    try:
        with open("/proc/1/cmdline", "rb") as f:
            argv = f.read().decode(errors="replace").split("\0")
    except OSError:
        return None
    if "serve" not in argv:
        return None
    after = [arg for arg in argv[argv.index("serve") + 1 :] if arg and not arg.startswith("-")]
    return after[0] if after else None


def main(argv: list[str]) -> int:
    if len(argv) > 1:
        port = int(argv[1])
    else:
        service = served_service()
        if service is None:
            return 0
        default = DEFAULT_PORTS.get(service, 8001)
        port = int(os.environ.get(f"ZF_{service.upper()}_PORT", default))
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=4) as response:
            return 0 if response.status == 200 else 1
    except OSError as exc:  # URLError, HTTPError and timeouts are all OSErrors
        print(f"unhealthy: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main(sys.argv))
