"""``python -m bench.faults [--only redis worker beats postgres] [--outage-seconds 20] ...``"""

import argparse
import json
import signal
import sys
import time

from .stack import PROJECT_DIR, Stack

SCENARIOS = ["redis", "worker", "beats", "postgres"]


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m bench.faults", description=__doc__)
    parser.add_argument("--only", nargs="+", choices=SCENARIOS, default=SCENARIOS)
    parser.add_argument("--outage-seconds", type=float, default=20, help="Redis stopped this long (20)")
    parser.add_argument("--pg-down-seconds", type=float, default=5, help="PostgreSQL down this long (5)")
    parser.add_argument("--clients", type=int, default=4, help="concurrent people (4)")
    parser.add_argument("--reminders", type=int, default=1200, help="reminders in the killed-worker run (1200)")
    parser.add_argument("--kills", type=int, default=2, help="SIGKILLs of the dispatching worker (2)")
    parser.add_argument("--beat-reminders", type=int, default=600, help="reminders in the two-beat run (600)")
    parser.add_argument("--beat-seconds", type=float, default=2, help="beat interval of the dispatcher and sweep (2)")
    parser.add_argument("--pg-port", type=int, default=5440)
    parser.add_argument("--redis-port", type=int, default=6390)
    args = parser.parse_args(argv)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # run the clean-up on a plain kill too

    from . import scenarios

    started = time.monotonic()
    stack = Stack(PROJECT_DIR / "var" / "faults", pg_port=args.pg_port, redis_port=args.redis_port)
    results = []
    try:
        print(
            f"faults: private PostgreSQL :{stack.pg_port} and Redis :{stack.redis_port}, gunicorn "
            f":{stack.web_port}; logs in {stack.logs}",
            flush=True,
        )
        stack.init_postgres()
        stack.start_redis()
        ctx = scenarios.prepare(stack)
        stack.start_web(workers=2)
        stack.start_worker("worker-1")
        stack.start_worker("worker-2")
        stack.start_beat("beat-a", args.beat_seconds)
        print(f"faults: stack ready in {time.monotonic() - started:.0f} s", flush=True)
        traffics = []
        for name in args.only:
            if name == "redis":
                result, traffic = scenarios.redis_stopped(
                    stack, ctx, outage_seconds=args.outage_seconds, clients=args.clients
                )
                traffics.append(traffic)
            elif name == "worker":
                result = scenarios.worker_killed(stack, ctx, reminders=args.reminders, kills=args.kills)
            elif name == "beats":
                result = scenarios.two_beats(
                    stack, ctx, reminders=args.beat_reminders, spread_seconds=15, beat_seconds=args.beat_seconds
                )
            else:
                result, traffic = scenarios.postgres_restarted(
                    stack, ctx, down_seconds=args.pg_down_seconds, clients=args.clients
                )
                traffics.append(traffic)
            results.append(result)
            print(f"{'PASS' if result.passed else 'FAIL'} {result.line}", flush=True)
        result = scenarios.check_data(ctx, traffics)
        results.append(result)
        print(f"{'PASS' if result.passed else 'FAIL'} {result.line}", flush=True)
    except Exception as exc:  # a run that could not finish is a failure, said in one line
        results.append(scenarios.Result("run", False, f"the run stopped: {type(exc).__name__}: {exc}"))
        print(f"FAIL {results[-1].line}", flush=True)
    finally:
        stack.close()
    failed = sum(not r.passed for r in results)
    (stack.root / "results.json").write_text(
        json.dumps({r.name: {"passed": r.passed, "line": r.line, **r.figures} for r in results}, indent=2, default=str)
    )
    print(f"faults: {time.monotonic() - started:.0f} s")
    print(f"{len(results) - failed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
