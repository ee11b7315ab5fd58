"""Department paths with each id zero-padded to ten digits, so that ordering by the path lists the
tree with sisters in the order they were made ("/10/" no longer sorts before "/9/")."""

from django.db import migrations

DIGITS = 10


def _paths(apps, pad):
    Department = apps.get_model("crm", "Department")
    parents = dict(Department.objects.values_list("id", "parent_id"))
    done = {}

    def path(pk):
        if pk not in done:
            parent = parents.get(pk)
            done[pk] = (path(parent) if parent else "/") + (f"{pk:0{DIGITS}d}" if pad else str(pk)) + "/"
        return done[pk]

    for pk in parents:
        Department.objects.filter(pk=pk).update(path=path(pk))
    try:  # the cached tree holds the old paths
        from django.core.cache import cache

        cache.delete_many(["departments:tree:version", "departments:tree"])
    except Exception:  # noqa: BLE001 - an unreachable cache holds nothing to throw away
        pass


def pad(apps, schema_editor):
    _paths(apps, True)


def unpad(apps, schema_editor):
    _paths(apps, False)


class Migration(migrations.Migration):
    dependencies = [("crm", "0005_partner_user_role")]

    operations = [migrations.RunPython(pad, unpad)]
