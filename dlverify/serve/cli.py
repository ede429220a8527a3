"""``dlverify serve IDS|TOPICS… [--hide-reference] [--host H] [--port P] [--timeout S]``.

Only argparse is imported here: the command line builds every parser at start, and a machine
without the ``serve`` extra must still get ``dlverify --help`` (and a clear message from ``serve``).
"""

from __future__ import annotations

import argparse
import ipaddress
import socket
import sys

from dlverify.arguments import timeout_seconds  # the same bound as check's --timeout

EXIT_OK, EXIT_USAGE = 0, 2
DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8000


def _port(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a port number: {text!r}") from None
    if not 0 <= value <= 65535:
        raise argparse.ArgumentTypeError(f"a port is 0 to 65535 (0: any free port), not {text}")
    return value


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The ``serve`` subcommand's arguments; it runs ``run``."""
    parser.add_argument("names", nargs="+", metavar="ID|TOPIC", help="the assignment's items")
    parser.add_argument(
        "--hide-reference", action="store_true", help="never show the reference, on the page or in the API"
    )
    parser.add_argument(
        "--host", default=DEFAULT_HOST, help=f"the address to listen on (default {DEFAULT_HOST}: this machine only)"
    )
    parser.add_argument(
        "--port", type=_port, default=DEFAULT_PORT, help=f"the port (default {DEFAULT_PORT}; 0: any free one)"
    )
    parser.add_argument(
        "--timeout",
        type=timeout_seconds,
        default=2.0,
        metavar="S",
        help="CPU time per answer, as check's (0 < S ≤ 600)",
    )
    parser.set_defaults(func=run)


def loopback(host: str) -> bool:
    """Whether ``host`` names this machine only (127.0.0.0/8, ::1, localhost)."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def _listen(host: str, port: int) -> socket.socket:
    """A listening socket (bound here, so ``--port 0`` can say which port it got)."""
    infos = socket.getaddrinfo(host.strip("[]"), port, type=socket.SOCK_STREAM)
    family, kind, proto, _, address = infos[0]
    sock = socket.socket(family, kind, proto)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind(address)
        sock.listen(128)
    except OSError:
        sock.close()
        raise
    return sock


def run(args: argparse.Namespace) -> int:
    """Serve the page until interrupted (Ctrl-C): exit 0; 2 for a usage error."""
    try:
        import uvicorn

        from dlverify.serve.app import assignment, create_app
    except ImportError as exc:
        print(
            f"dlverify: serve needs its extra ({exc.name} is missing): pip install 'dlverify[serve]'", file=sys.stderr
        )
        return EXIT_USAGE
    ids = assignment(args.names)  # an unknown id or topic: the command line's own message, exit 2
    if not ids:
        print(
            "dlverify: none of these items takes an answer (numeric claims are verified, not answered)", file=sys.stderr
        )
        return EXIT_USAGE
    try:
        sock = _listen(args.host, args.port)
    except OSError as exc:
        print(f"dlverify: serve: cannot listen on {args.host}:{args.port}: {exc.strerror or exc}", file=sys.stderr)
        return EXIT_USAGE
    local = loopback(args.host)
    host, port = sock.getsockname()[:2]
    shown = f"[{host}]" if ":" in host else host
    # on loopback only requests named for this machine are answered (a page elsewhere cannot rebind a name to it)
    allowed = ["127.0.0.1", "localhost", "::1", "[::1]", host] if local else None
    app = create_app(ids, hide_reference=args.hide_reference, timeout=args.timeout, allowed_hosts=allowed)
    print(f"dlverify: serving {len(ids)} items on http://{shown}:{port}/ (Ctrl-C to stop)", flush=True)
    if not local:
        print(
            f"dlverify: warning: listening on {args.host}, reachable from other machines: anyone who can connect"
            " can submit answers" + ("" if args.hide_reference else " and read the references (--hide-reference)"),
            file=sys.stderr,
            flush=True,
        )
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="on", access_log=False))
    try:
        server.run(sockets=[sock])
    except KeyboardInterrupt:  # uvicorn shuts down on Ctrl-C, then raises it again: stopping is the normal end
        pass
    finally:
        sock.close()
    return EXIT_OK
