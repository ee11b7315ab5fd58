"""Set-based writes of many rows with different values per row."""

from django.db import connection, models

#: fields whose Python values the PostgreSQL driver adapts itself (no ``get_db_prep_save`` needed:
#: Django's own preparation of a Decimal or a datetime costs more than the UPDATE's SQL text)
NATIVE = (
    models.CharField,
    models.TextField,
    models.IntegerField,
    models.DecimalField,
    models.DateTimeField,
    models.DateField,
    models.BooleanField,
    models.FloatField,
    models.AutoField,
    models.BigAutoField,
)


def update_rows(model, fields, rows, *, batch_size=1000):
    """Write ``rows`` — ``(pk, value of fields[0], value of fields[1], ...)`` — to ``model``.

    On PostgreSQL one ``UPDATE t SET f = v.f ... FROM (VALUES (...), ...) AS v WHERE t.id = v.id``
    per ``batch_size`` rows (each value cast to its column's type, so NULLs and numbers need no
    guessing); elsewhere Django's ``bulk_update``. Returns the number of rows written."""
    rows = list(rows)
    if not rows:
        return 0
    meta = model._meta
    columns = [meta.get_field(name) for name in fields]
    if connection.vendor != "postgresql":
        objects = []
        for row in rows:
            obj = model(pk=row[0])
            for field, value in zip(columns, row[1:]):
                setattr(obj, field.attname, value)
            objects.append(obj)
        model._default_manager.bulk_update(objects, [f.name for f in columns], batch_size=batch_size)
        return len(rows)

    quote = connection.ops.quote_name
    pk = meta.pk
    every = [pk, *columns]
    names = [quote(field.column) for field in every]
    placeholder = "(" + ", ".join(f"%s::{field.db_type(connection)}" for field in every) + ")"
    assignments = ", ".join(f"{name} = v.{name}" for name in names[1:])
    prepare = [
        None if isinstance(field, NATIVE) and not field.is_relation else field.get_db_prep_save for field in every
    ]
    updated = 0
    with connection.cursor() as cursor:
        for start in range(0, len(rows), batch_size):
            chunk = rows[start : start + batch_size]
            params = []
            for row in chunk:
                params.extend(
                    value if prep is None or value is None else prep(value, connection)
                    for prep, value in zip(prepare, row)
                )
            cursor.execute(
                f"UPDATE {quote(meta.db_table)} AS t SET {assignments} "
                f"FROM (VALUES {', '.join([placeholder] * len(chunk))}) AS v ({', '.join(names)}) "
                f"WHERE t.{names[0]} = v.{names[0]}",
                params,
            )
            updated += cursor.rowcount
    return updated
