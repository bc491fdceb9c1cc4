"""The ``qlab`` command line.

``qlab serve --device NAME --port P --server-type T [--token-file F] [--host H]``
serves a device as a QPU (:class:`qlab.qpu.DeviceQPU`, jobs recorded in the
default job store) until Ctrl-C or SIGTERM. ``--port 0`` picks a free port;
the first line printed says where the server listens.

>>> main(["serve", "--device", "training5", "--port", "0", "--token-file", "/no/such/file"])
Traceback (most recent call last):
...
SystemExit: qlab serve: cannot read the token file: [Errno 2] No such file or directory: '/no/such/file'
"""

from __future__ import annotations

import argparse
import signal
import sys
from pathlib import Path

__all__ = ["main"]


def _serve(args: argparse.Namespace) -> int:
    from .exceptions import QlabError
    from .qpu import DeviceQPU

    token = None
    if args.token_file is not None:
        try:
            token = Path(args.token_file).read_text().strip()
        except OSError as err:
            raise SystemExit(f"qlab serve: cannot read the token file: {err}") from None
        if not token:
            raise SystemExit(f"qlab serve: the token file {args.token_file} is empty.")
    try:
        qpu = DeviceQPU(args.device)
        server = qpu.serve(args.port, args.host, args.server_type, token=token, background=True)
    except (QlabError, OSError) as err:
        raise SystemExit(f"qlab serve: {err}") from None
    print(f"qlab serve: {args.device} on {server.url} ({args.server_type}{', token required' if token else ''})",
          flush=True)
    signal.signal(signal.SIGTERM, lambda *_: server.stop())
    try:
        while server.running:
            signal.pause() if hasattr(signal, "pause") else server._thread.join(1.0)
    except KeyboardInterrupt:
        pass
    finally:
        server.stop()
        qpu.close()
    print("qlab serve: stopped", flush=True)
    return 0


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="qlab", description="qlab: a notebook-first quantum lab.")
    commands = parser.add_subparsers(dest="command", required=True)
    serve = commands.add_parser("serve", help="serve a device as a QPU over HTTP+JSON")
    serve.add_argument("--device", required=True, help="a device id from the catalog (e.g. training5)")
    serve.add_argument("--port", type=int, required=True, help="the TCP port (0: any free port)")
    serve.add_argument("--host", default="localhost", help="the address to listen on (default: localhost)")
    serve.add_argument("--server-type", default="simple", choices=["simple", "threaded", "pool", "fork"])
    serve.add_argument("--token-file", help="a file holding the bearer token clients must send")
    serve.set_defaults(run=_serve)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run the command line with ``argv`` (default: ``sys.argv[1:]``)."""
    args = _parser().parse_args(argv)
    return args.run(args)


if __name__ == "__main__":
    sys.exit(main())
