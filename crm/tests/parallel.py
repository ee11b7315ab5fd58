"""Run callables at the same moment in threads, each on its own database connection."""

import threading
import traceback


class ThreadFailed(AssertionError):
    """A thread raised an exception the test did not expect; the message holds each traceback."""


def run_parallel(targets, *, refusals=(), timeout=120):
    """Start every callable together (a barrier), wait for all, and return their results in
    completion order. An exception of a type in ``refusals`` — a pair (exception class,
    function turning it into a result) — becomes that result instead of failing the thread.

    Any other exception raised in a thread (or a thread still running after ``timeout`` seconds)
    fails the test with ``ThreadFailed`` once every thread has finished: a thread's error is never
    dropped, and a result list that is merely shorter than expected is never mistaken for a pass."""
    from django.db import connection

    barrier = threading.Barrier(len(targets))
    results, errors = [], []
    lock = threading.Lock()
    kinds = tuple(kind for kind, _convert in refusals)

    def wrap(fn):
        try:
            barrier.wait(timeout)
            result = fn()
        except kinds as exc:
            convert = next(convert for kind, convert in refusals if isinstance(exc, kind))
            result = convert(exc)
        except BaseException as exc:
            with lock:
                errors.append("".join(traceback.format_exception(exc)))
            return
        finally:
            connection.close()
        with lock:
            results.append(result)

    threads = [threading.Thread(target=wrap, args=(fn,), daemon=True) for fn in targets]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout)
    hung = sum(thread.is_alive() for thread in threads)
    if hung:
        errors.append(f"{hung} of {len(threads)} threads were still running after {timeout} s")
    if errors:
        raise ThreadFailed(f"{len(errors)} of {len(targets)} threads failed:\n\n" + "\n".join(errors))
    return results
