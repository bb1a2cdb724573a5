"""Lean single-row reads for the delivery path.

Each delivery reads one asset row and one derived row by unique columns.  Building
those queries through the ORM (filter -> compile -> ordering) costs several times the
query itself; here the SQL of each (model, columns) lookup is compiled once per
database vendor, and a row becomes a model instance exactly as the ORM would make it
(every concrete field, the backend's and the fields' converters applied, `from_db`).
"""

from __future__ import annotations

import threading

from django.db import connections, router

_lock = threading.Lock()
_compiled: dict[tuple, tuple[str, list, list[str]]] = {}


def _compile(model, columns: tuple[str, ...], connection):
    key = (model, columns, connection.alias, connection.vendor)
    found = _compiled.get(key)
    if found is not None:
        return found
    qn = connection.ops.quote_name
    meta = model._meta
    fields = list(meta.concrete_fields)
    table = meta.db_table
    select = ", ".join(f"{qn(table)}.{qn(f.column)}" for f in fields)
    where = " AND ".join(f"{qn(table)}.{qn(meta.get_field(c).column)} = %s" for c in columns)
    sql = f"SELECT {select} FROM {qn(table)} WHERE {where} LIMIT 1"
    converters = []
    for index, field in enumerate(fields):
        col = field.get_col(table)
        found_converters = connection.ops.get_db_converters(col) + col.get_db_converters(connection)
        if found_converters:
            converters.append((index, col, found_converters))
    compiled = (sql, converters, [f.attname for f in fields])
    with _lock:
        _compiled[key] = compiled
    return compiled


def get(model, **lookups):
    """The one row of `model` whose columns equal `lookups` (unique columns: no ordering
    needed), as a model instance, or None."""
    columns = tuple(lookups)
    alias = router.db_for_read(model)
    connection = connections[alias]
    sql, converters, attnames = _compile(model, columns, connection)
    with connection.cursor() as cursor:
        cursor.execute(sql, [lookups[c] for c in columns])
        row = cursor.fetchone()
    if row is None:
        return None
    if converters:
        row = list(row)
        for index, col, functions in converters:
            value = row[index]
            for function in functions:
                value = function(value, col, connection)
            row[index] = value
    return model.from_db(alias, attnames, row)
