"""The `koe` command line."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from koe.logging_setup import configure_logging
from koe.settings import DESKS, load_settings


def _cmd_web(args: argparse.Namespace) -> int:
    import uvicorn

    from koe.app import create_app
    from koe.runtime import get_runtime

    rt = get_runtime()
    rt.check(jobs=False)
    settings = rt.settings
    configure_logging(settings.log_level)
    uvicorn.run(
        create_app(),
        host=args.host,
        port=args.port,
        log_level=settings.log_level.lower(),
        access_log=False,  # access logs add nothing Koe needs and cost time on the webhook path
        proxy_headers=True,
        forwarded_allow_ips=settings.forwarded_allow_ips,
    )
    return 0


def _cmd_worker(args: argparse.Namespace) -> int:
    from koe.runtime import get_runtime
    from koe.worker import run_worker

    rt = get_runtime()
    rt.check()
    configure_logging(rt.settings.log_level)
    run_worker(rt, burst=args.burst)
    return 0


def _cmd_scheduler(_args: argparse.Namespace) -> int:
    from koe.runtime import get_runtime
    from koe.scheduler import Scheduler

    rt = get_runtime()
    rt.check(jobs=False)
    configure_logging(rt.settings.log_level)
    Scheduler(rt).run()
    return 0


def _cmd_migrate(_args: argparse.Namespace) -> int:
    from koe.migrations import upgrade

    settings = load_settings()
    configure_logging(settings.log_level)
    print("データベースを最新の形にしています…", flush=True)
    upgrade(settings.resolved_database_url)
    print("完了しました。", flush=True)
    return 0


def _cmd_inbox(args: argparse.Namespace) -> int:
    from koe import inbox_admin
    from koe.runtime import get_runtime

    rt = get_runtime()
    configure_logging("WARNING")
    if args.action == "retry":
        events, deliveries = inbox_admin.retry_failed(rt)
        print(f"もう一度処理します: 受信 {events} 件、送信 {deliveries} 件")
    else:
        print(inbox_admin.status(rt))
    return 0


def _cmd_user(args: argparse.Namespace) -> int:
    from counsellor_console.accounts import AccountError
    from koe import user_admin
    from koe.runtime import get_runtime
    from models import Role

    rt = get_runtime()
    configure_logging("WARNING")
    try:
        password = user_admin.read_password()
        user_id = user_admin.add_user(
            rt, username=args.name, role=Role(args.role), display_name=args.display_name, password=password
        )
    except AccountError as exc:
        print(f"アカウントを作れませんでした: {exc}", file=sys.stderr)
        return 1
    print(f"アカウント「{args.name}」（{args.role}、ID {user_id}）を作りました。")
    return 0


def _cmd_roster(args: argparse.Namespace) -> int:
    from koe import roster_cli
    from koe.runtime import get_runtime

    configure_logging("WARNING")
    return roster_cli.run_roster(get_runtime(), args)


def _cmd_user_notify(args: argparse.Namespace) -> int:
    from koe import roster_cli
    from koe.runtime import get_runtime

    configure_logging("WARNING")
    return roster_cli.run_notify(get_runtime(), args)


def _cmd_emulator(args: argparse.Namespace) -> int:
    from line_emulator import ChannelConfig, EmulatorConfig, serve

    settings = load_settings()
    configure_logging(settings.log_level)
    koe_url = args.koe_url.rstrip("/")
    config = EmulatorConfig(
        channels=tuple(
            ChannelConfig(
                desk=desk,
                channel_secret=settings.channel_secret(desk),
                access_token=settings.channel_access_token(desk),
                webhook_url=f"{koe_url}/line/webhook/{desk}",
            )
            for desk in DESKS
        )
    )
    print(f"LINE エミュレーター: http://{args.host}:{args.port}/  (Koe: {koe_url})", flush=True)
    serve(config, host=args.host, port=args.port)
    return 0


def _cmd_triage(args: argparse.Namespace) -> int:
    from koe import triage_cli

    configure_logging("WARNING")
    return triage_cli.run(args, load_settings())


def _cmd_demo(args: argparse.Namespace) -> int:
    from koe.demo import run_demo

    return run_demo(web_port=args.port, emulator_port=args.emulator_port)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="koe", description="Koe (声): anonymous chat consultation")
    sub = parser.add_subparsers(dest="command", required=True)

    demo = sub.add_parser("demo", help="everything on the embedded default, with the LINE emulator")
    demo.add_argument("--port", type=int, default=8000, help="web port (default 8000)")
    demo.add_argument("--emulator-port", type=int, default=8001, help="emulator port (default 8001)")
    demo.set_defaults(func=_cmd_demo)

    web = sub.add_parser("web", help="the web process (webhooks, console, health, metrics)")
    web.add_argument("--host", default="127.0.0.1")
    web.add_argument("--port", type=int, default=8000)
    web.set_defaults(func=_cmd_web)

    worker = sub.add_parser("worker", help="an RQ worker for all of Koe's queues")
    worker.add_argument("--burst", action="store_true", help="stop when the queues are empty")
    worker.set_defaults(func=_cmd_worker)

    sub.add_parser("scheduler", help="enqueues periodic work").set_defaults(func=_cmd_scheduler)
    sub.add_parser("migrate", help="apply database migrations").set_defaults(func=_cmd_migrate)

    from koe import triage_cli

    triage_cli.add_parser(sub)
    sub.choices["triage"].set_defaults(func=_cmd_triage)

    inbox = sub.add_parser("inbox", help="what is pending or failed; send failed work round again")
    inbox.add_argument("action", choices=["status", "retry"], nargs="?", default="status")
    inbox.set_defaults(func=_cmd_inbox)

    user = sub.add_parser("user", help="console accounts")
    user_sub = user.add_subparsers(dest="action", required=True)
    add = user_sub.add_parser("add", help="add an account; the password is read from stdin or prompted for")
    add.add_argument("name")
    add.add_argument("--role", required=True, choices=["counsellor", "supervisor", "admin", "board"])
    add.add_argument("--display-name", help="the name colleagues see (default: NAME)")
    add.set_defaults(func=_cmd_user)

    from koe import roster_cli

    roster_cli.add_notify_parser(user_sub).set_defaults(func=_cmd_user_notify)
    roster_cli.add_parsers(sub)
    sub.choices["roster"].set_defaults(func=_cmd_roster)

    emulator = sub.add_parser("emulator", help="the local LINE platform emulator")
    emulator.add_argument("--host", default="127.0.0.1")
    emulator.add_argument("--port", type=int, default=8001)
    emulator.add_argument(
        "--koe-url", default="http://127.0.0.1:8000", help="where Koe's web process listens"
    )
    emulator.set_defaults(func=_cmd_emulator)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args))
    except KeyboardInterrupt:
        return 130
    except Exception as exc:
        from pydantic import ValidationError

        from koe.runtime import ConfigError

        if isinstance(exc, ValidationError | ConfigError):
            print(
                f"設定に問題があります: {exc}\n環境変数か .env を直してから、もう一度実行してください。",
                file=sys.stderr,
            )
            return 2
        raise


if __name__ == "__main__":
    sys.exit(main())
