"""The ``escape-dlaas`` console script.

    escape-dlaas lake up     [--state-dir DIR] [--rucio-port N] [--issuer-port N]
                             [--postgres-port N] [--memcached-port N] [--token-lifetime SECONDS]
                             [--policy demo|generic] [--events|--no-events]
    escape-dlaas lake down   [--state-dir DIR]
    escape-dlaas lake status [--state-dir DIR] [--json]
    escape-dlaas lake reset  [--state-dir DIR]
    escape-dlaas lake install

Expected faults (a port in use, no PostgreSQL, a half-initialised state directory, ...)
print one message and the fix, without a traceback, and exit with status 2.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence

from .errors import LakeError
from .lake import Lake, LakeStatus
from .policies import DEFAULT_POLICY, ENV_POLICY, POLICIES
from .ports import PORT_NAMES, Ports


def _say(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="escape-dlaas", description="escape-dlaas command-line tools")
    commands = parser.add_subparsers(dest="command", required=True)
    lake = commands.add_parser("lake", help="run a complete, real Rucio data lake on this machine")
    actions = lake.add_subparsers(dest="action", required=True)

    def common(sub: argparse.ArgumentParser) -> None:
        sub.add_argument(
            "--state-dir",
            help="where the lake keeps everything (default: $ESCAPE_DLAAS_LAKE_DIR, "
            "else ~/.local/share/escape-dlaas/lake)",
        )

    up = actions.add_parser("up", help="start the lake (idempotent; restarts dead components)")
    common(up)
    defaults = Ports()
    for name in PORT_NAMES:
        up.add_argument(
            f"--{name}-port",
            type=int,
            metavar="N",
            help=f"port of {name} (default {getattr(defaults, name)}, or ESCAPE_DLAAS_LAKE_"
            f"{name.upper()}_PORT, or the port used last time)",
        )
    up.add_argument(
        "--token-lifetime",
        type=int,
        metavar="SECONDS",
        help="access-token lifetime of the issuer (default 3600; tests use 30-60)",
    )
    up.add_argument(
        "--policy",
        choices=sorted(POLICIES),
        help=f"Rucio's permission policy (default {DEFAULT_POLICY}, or {ENV_POLICY}, or the policy used last "
        "time): " + "; ".join(f"{p.name}: {p.summary}" for p in POLICIES.values()),
    )
    up.add_argument(
        "--events",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="also run a STOMP broker (RabbitMQ) fed by Rucio's hermes, for live events in the panel "
        "(default: what this lake ran last time, else off)",
    )
    up.add_argument("--json", action="store_true", help="print the status as JSON")
    down = actions.add_parser("down", help="stop every lake process")
    common(down)
    status = actions.add_parser("status", help="what runs where")
    common(status)
    status.add_argument("--json", action="store_true", help="print the status as JSON")
    reset = actions.add_parser("reset", help="stop the lake and delete its state directory")
    common(reset)
    install = actions.add_parser("install", help="create the lake's server venv (Rucio 41, gunicorn, ...) now")
    common(install)
    return parser


def _status_dict(status: LakeStatus) -> dict[str, object]:
    info = status.info
    return {
        "state_dir": str(status.state_dir),
        "initialised": status.initialised,
        "running": status.running,
        "ports": status.ports.as_dict(),
        "policy": info.policy.name if info else None,
        "components": [
            {
                "name": c.name,
                "state": c.state,
                "pid": c.pid,
                "address": c.address,
                "log": str(c.log),
                "detail": c.detail,
            }
            for c in status.components
        ],
        "lake_json": str(status.state_dir / "lake.json"),
        "jupyter_config": str(info.jupyter_config) if info else None,
        "demo_users": [
            {"name": u.name, "token_file": str(u.token_file), "password_file": str(u.password_file)} for u in info.users
        ]
        if info
        else [],
    }


def _print_status(status: LakeStatus) -> None:
    overall = "running" if status.running else ("stopped" if status.stopped else "partly running")
    print(f"Local data lake: {overall}")
    print(f"  state dir : {status.state_dir}{'' if status.initialised else ' (not initialised)'}")
    width = max(len(c.name) for c in status.components)
    for c in status.components:
        pid = f"pid {c.pid}" if c.pid else "-"
        print(f"  {c.name:<{width}}  {c.state:<8} {pid:<10} {c.address or ''}")
        if c.detail:
            print(f"  {'':<{width}}  {c.detail}")
    info = status.info
    if info:
        print(f"  policy    : {info.policy.name} ({info.policy.summary})")
        print(f"  Jupyter   : JUPYTER_CONFIG_PATH={info.jupyter_config.parent}")
        for user in info.users:
            print(f"  user {user.name:<5}: token {user.token_file}  password file {user.password_file}")
        print(f"  logs      : {status.state_dir / 'logs'}")


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        if args.action == "up":
            flags = {name: getattr(args, f"{name}_port") for name in PORT_NAMES}
            lake = Lake(
                args.state_dir,
                port_flags=flags,
                token_lifetime=args.token_lifetime,
                policy=args.policy,
                say=_say,
                events=args.events,
            )
            status = lake.up()
        else:
            lake = Lake(args.state_dir, say=_say)
            if args.action == "install":
                venv = lake.install()
                print(f"Lake venv ready: {venv.root}")
                return 0
            if args.action == "down":
                status = lake.down()
            elif args.action == "reset":
                lake.reset()
                print(f"Lake state in {lake.paths.root} deleted.")
                return 0
            else:
                status = lake.status()
    except LakeError as error:
        print(f"escape-dlaas lake {args.action}: {error}", file=sys.stderr)
        return 2
    except OSError as error:  # e.g. an unwritable --state-dir
        print(f"escape-dlaas lake {args.action}: {error.strerror or error}: {error.filename or ''}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted; 'escape-dlaas lake down' stops what was started", file=sys.stderr)
        return 130
    if getattr(args, "json", False):
        print(json.dumps(_status_dict(status), indent=2))
    else:
        _print_status(status)
    return 0 if args.action != "status" or status.running else 3


if __name__ == "__main__":
    sys.exit(main())
