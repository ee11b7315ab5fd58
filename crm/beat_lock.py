"""One beat at a time: a second ``celery beat`` exits at start instead of sending every
scheduled job twice.

With Redis (``REDIS_URL``) beat holds the key ``crm:beat-lock`` (``SET NX`` with a time to live of
``BEAT_LOCK_SECONDS``, renewed every third of it by a thread): a beat on any machine that finds the
key held by another logs it and exits with status 3. A beat that dies without letting go (SIGKILL,
a lost machine) leaves the key to expire (a beat stopped by SIGTERM or Ctrl-C deletes it on its way out,
so ``make run`` starts again at once), so its replacement starts within ``BEAT_LOCK_SECONDS``
(systemd's ``Restart=`` tries again). Without Redis (``make run``) an exclusive ``flock`` on
``var/beat.lock`` does the same on the one machine; the kernel releases it when the process dies.
"""

import atexit
import fcntl
import logging
import os
import threading
import uuid

import redis
from django.conf import settings

log = logging.getLogger(__name__)

KEY = "crm:beat-lock"
EXIT_STATUS = 3
_RENEW = """if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('pexpire', KEYS[1], ARGV[2]) end
if redis.call('set', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) then return 1 end
return 0"""
_held = {}


class BeatAlreadyRunning(RuntimeError):
    pass


def _seconds():
    return int(getattr(settings, "BEAT_LOCK_SECONDS", 60))


def acquire():
    """Take the lock or raise ``BeatAlreadyRunning``; renew it in the background while the process lives."""
    if settings.REDIS_URL:
        client = redis.Redis.from_url(settings.REDIS_URL, socket_connect_timeout=2, socket_timeout=2)
        token = f"{os.uname().nodename}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        ttl_ms = _seconds() * 1000
        if not client.set(KEY, token, nx=True, px=ttl_ms):
            raise BeatAlreadyRunning(f"another beat holds {KEY}: {client.get(KEY)!r}")
        renew = client.register_script(_RENEW)
        stop = threading.Event()

        def keep():
            while not stop.wait(_seconds() / 3):
                try:
                    if not renew(keys=[KEY], args=[token, ttl_ms]):
                        log.critical("another beat took %s while this one was cut off: exiting", KEY)
                        os._exit(EXIT_STATUS)
                except redis.RedisError:  # Redis is the broker too: nothing is sent meanwhile; try again
                    log.warning("could not renew %s", KEY, exc_info=True)

        threading.Thread(target=keep, name="beat-lock", daemon=True).start()
        _held.update(kind="redis", client=client, token=token, stop=stop)
        atexit.register(release)  # beat stopped by SIGTERM or Ctrl-C exits through SystemExit: let go at once
        return token
    path = settings.VAR_DIR / "beat.lock"
    handle = open(path, "a+")
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        handle.close()
        raise BeatAlreadyRunning(f"another beat holds {path}") from None
    _held.update(kind="file", handle=handle)
    return str(path)


def release():
    if _held.get("kind") == "redis":
        _held["stop"].set()
        client, token = _held["client"], _held["token"]
        try:
            if client.get(KEY) == token.encode():
                client.delete(KEY)
        except redis.RedisError:  # Redis gone: the key expires by itself
            log.warning("could not release %s", KEY, exc_info=True)
    elif _held.get("kind") == "file":
        _held["handle"].close()
    _held.clear()


def hold_or_exit(**_signal_kwargs):
    """``beat_init`` receiver: take the lock, or exit the process (status 3) when another beat has it."""
    if not settings.BEAT_LOCK:
        return
    try:
        acquire()
    except BeatAlreadyRunning as exc:
        log.critical("beat not started: %s", exc)
        for handler in logging.getLogger().handlers:  # not logging.shutdown(): celery's proxies hold its locks
            handler.flush()
        os._exit(EXIT_STATUS)
