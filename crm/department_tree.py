"""The department tree (部门树) from the shared cache.

Every page of someone who sees a department and those below it (``DataScope.DEPARTMENT_TREE``)
needs the departments under theirs (``crm.permissions.scope_department_ids``). The whole tree is a
few hundred ``{id: path}`` pairs at most, so it is kept in the cache and read in one round trip
together with its version; a changed tree starts a new version.

The version changes on every save and delete of a department (``post_save``/``post_delete``), on
every ``update``, ``bulk_update`` and ``bulk_create`` of departments (which send no signal; the
paths a move rewrites below a department are such updates, made after its ``post_save``), and again
once the change is committed (``transaction.on_commit``): a tree cached by another request between
the change and its commit read the old rows and is thrown away. A tree read inside the transaction
that changed it (rows others cannot see yet, and that a rollback would undo) is never cached.

A cached tree is tagged with the version read *before* its rows: a change made while it was being
read leaves it tagged with an old version, and so unused.
"""

from __future__ import annotations

import time

from django.core.cache import cache
from django.db import connection, transaction

VERSION_KEY = "departments:tree:version"
TREE_KEY = "departments:tree"
#: seconds a tree stays cached (a new version replaces it sooner)
TTL = 3600

__all__ = ["paths", "subtree_ids", "tree_changed"]


def _read() -> dict[int, str]:
    from .models import Department

    return dict(Department.objects.order_by().values_list("id", "path"))


def _new_version() -> None:
    cache.set(VERSION_KEY, time.time_ns(), None)


class _Committed:
    """The ``on_commit`` callback of a change: marks it committed and starts a new version."""

    def __init__(self):
        self.done = False

    def __call__(self):
        self.done = True
        _new_version()


def tree_changed(**_signal) -> None:
    """The departments changed (a signal receiver, and called by ``DepartmentQuerySet``)."""
    _new_version()
    transaction.on_commit(_Committed())


def _changed_in_this_transaction() -> bool:
    # a rollback drops the transaction's callbacks, and a commit runs them: a change still waiting
    # for its commit is one this connection made and others cannot see
    return any(
        isinstance(callback, _Committed) and not callback.done for _ids, callback, _r in connection.run_on_commit
    )


def paths() -> dict[int, str]:
    """``{department id: path}`` of every department, from the cache when it holds the current tree."""
    if connection.in_atomic_block and _changed_in_this_transaction():
        return _read()
    found = cache.get_many([VERSION_KEY, TREE_KEY])
    version, cached = found.get(VERSION_KEY), found.get(TREE_KEY)
    if version is not None and cached is not None and cached[0] == version:
        return cached[1]
    if version is None:  # never changed since the cache was emptied
        version = time.time_ns()
        if not cache.add(VERSION_KEY, version, None):
            version = cache.get(VERSION_KEY)  # (None while the cache is unreachable)
    tree = _read()
    if version is not None:
        cache.set(TREE_KEY, (version, tree), TTL)
    return tree


def subtree_ids(department_id: int) -> set[int]:
    """The ids of the department and every department below it (none for an unknown id)."""
    tree = paths()
    root = tree.get(department_id)
    if root is None:
        return set()
    return {pk for pk, path in tree.items() if path.startswith(root)}
