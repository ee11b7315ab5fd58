"""Run callables at the same moment in threads, each on its own database connection."""
import threading

from django.db import connection


def run_parallel(targets, *, refusals=()):
    """Start every callable together (a barrier), wait for all, and return their results in
    completion order. An exception of a type in ``refusals`` — a pair (exception class,
    function turning it into a result) — becomes that result instead of failing the thread."""
    barrier = threading.Barrier(len(targets))
    results = []

    def wrap(fn):
        try:
            barrier.wait()
            results.append(fn())
        except tuple(kind for kind, _convert in refusals) as exc:
            convert = next(convert for kind, convert in refusals if isinstance(exc, kind))
            results.append(convert(exc))
        finally:
            connection.close()

    threads = [threading.Thread(target=wrap, args=(fn,)) for fn in targets]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results
