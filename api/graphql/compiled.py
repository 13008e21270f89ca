"""Plans (api.graphql.compiler) made into Python functions that turn a row
into its response object directly, without graphql-core's per-field steps.

Each plan becomes the source of one function per kind of row, compiled once
and kept on the plan:

- *objects*: model instances (their loaded columns, their related objects
  that ``select_related`` loaded) and plain objects (a connection's edges,
  a subscription's event: the lists of rows in it completed as lists are);
- *tuples*: the columns of ``tuple_columns(plan)`` as ``values_list`` reads
  them, a related object's columns among them.

Values are coerced by the schema's own scalars (``coerce_output_value``), as
graphql-core does; strings and integers that need no coercion are passed
as they are. Whatever graphql-core would answer with an error (a null in a
non-null field, a value a scalar refuses, a column or relation not loaded)
raises ``Fallback``: the caller then has graphql-core complete the rows, so
that errors read exactly as graphql-core writes them.
"""

from base64 import b64encode
from collections.abc import Callable, Sequence
from decimal import Decimal
from itertools import count
from typing import Any, cast

from django.conf import settings
from graphql import GraphQLLeafType, GraphQLObjectType, GraphQLScalarType, get_named_type
from graphql.execution.collect_fields import FieldDetails, FragmentDetails, collect_subfields
from graphql.execution.values import VariableValues
from graphql.pyutils import Undefined
from strawberry.types import Info

from api.graphql.compiler import (
    Collecting,
    Leaf,
    LeafList,
    Method,
    Nested,
    NodeID,
    ObjectList,
    ObjectPlan,
    Typename,
    plans,
)
from api.graphql.scalars import serialize_decimal
from api.paging.rows import TupleRows

Completer = Callable[[Any], dict[str, Any]]

_INT_MIN, _INT_MAX = -(2**31), 2**31 - 1


class Fallback(Exception):
    """A row the compiled function cannot answer as graphql-core would."""


def _fall_back() -> Any:
    raise Fallback


def _coercer(leaf_type: GraphQLLeafType, non_null: bool) -> Callable[[Any], Any]:
    coerce = leaf_type.coerce_output_value

    def coerced(value: Any) -> Any:
        if value is None:
            return _fall_back() if non_null else None
        result = coerce(value)
        if result is None or result is Undefined:
            raise Fallback
        return result

    return coerced


def _list(complete: Callable[[list[Any]], list[Any]], non_null: bool) -> Callable[[Any], Any]:
    def completed(value: Any) -> Any:
        if value is None:
            return _fall_back() if non_null else None
        if not isinstance(value, list):  # graphql-core iterates others, or refuses them
            raise Fallback
        return complete(value)

    return completed


def _rows(plan: ObjectPlan) -> Callable[[list[Any]], list[Any]]:
    def completed(rows: list[Any]) -> list[Any]:
        complete = completers.for_rows(plan, rows)
        if complete is None:
            raise Fallback
        return list(map(complete, rows))

    return completed


def _is_scalar(leaf_type: GraphQLLeafType, name: str) -> bool:
    return isinstance(leaf_type, GraphQLScalarType) and leaf_type.name == name


def _global_id(type_name: str) -> Callable[[Any], str]:
    prefix = f"{type_name}:"

    def encoded(pk: Any) -> str:
        return b64encode(f"{prefix}{pk}".encode()).decode()

    return encoded


class _Source:
    """The text of one function per plan, and the values it refers to."""

    def __init__(self, reading: Callable[[str, str], str]) -> None:
        # reading(row variable, attribute) -> expression
        self._reading = reading
        self.names: dict[str, Any] = {"_fall_back": _fall_back}
        self.lines: list[str] = []
        self._numbers = count()

    def name(self, value: Any) -> str:
        name = f"_v{next(self._numbers)}"
        self.names[name] = value
        return name

    def function(self, plan: ObjectPlan, *, nested_in: str | None = None) -> str:
        """Defines the function completing ``plan`` and returns its name."""
        name = f"_complete{next(self._numbers)}"
        items = []
        for field in plan.fields:
            items.append(f"{field.key!r}: {self._expression(field)}")
        body = "{" + ", ".join(items) + "}"
        self.lines += [f"def {name}(row):", f"    return {body}", ""]
        return name

    def _expression(self, field: Any) -> str:
        read = self._reading
        if isinstance(field, Typename):
            return repr(field.name)
        if isinstance(field, NodeID):
            return f"{self.name(_global_id(field.type_name))}({read('row', field.attribute)})"
        if isinstance(field, Leaf):
            return self._leaf(field, read("row", field.attribute))
        if isinstance(field, Method):
            return self._leaf(field, f"{self.name(field.function)}(row)")
        if isinstance(field, LeafList):
            coerce = _coercer(field.type, non_null=True)
            items = self.name(_list(lambda items: list(map(coerce, items)), field.non_null))
            return f"{items}({read('row', field.attribute)})"
        if isinstance(field, ObjectList):
            rows = self.name(_list(_rows(field.plan), field.non_null))
            return f"{rows}({read('row', field.attribute)})"
        assert isinstance(field, Nested)
        return self._nested(field)

    def _leaf(self, field: Leaf | Method, value: str) -> str:
        slow = self.name(_coercer(field.type, field.non_null))
        if _is_scalar(field.type, "String"):
            return f"(v if (v := {value}).__class__ is str else {slow}(v))"
        if field.type.coerce_output_value is serialize_decimal:
            # A Decimal whose text has two decimals (the columns' own) is
            # what serialize_decimal makes of it; others are quantized.
            return (
                f"(s if (v := {value}).__class__ is {self.name(Decimal)} "
                f'and (s := str(v))[-3:-2] == "." else {slow}(v))'
            )
        if _is_scalar(field.type, "Int"):
            return (
                f"(v if (v := {value}).__class__ is int and {_INT_MIN} <= v <= {_INT_MAX} "
                f"else {slow}(v))"
            )
        return f"{slow}({value})"

    def _nested(self, field: Nested) -> str:
        raise NotImplementedError


class _ObjectSource(_Source):
    def __init__(self) -> None:
        super().__init__(lambda row, attribute: f"{row}.__dict__[{attribute!r}]")

    def _nested(self, field: Nested) -> str:
        inner = self.function(field.plan)
        if field.relation:
            value = f"row._state.fields_cache[{field.attribute!r}]"
        else:
            value = f"row.__dict__[{field.attribute!r}]"
        absent = "_fall_back()" if field.non_null else "None"
        return f"({inner}(o) if (o := {value}) is not None else {absent})"


class _TupleSource(_Source):
    def __init__(self, columns: Sequence[str]) -> None:
        self._index = {column: index for index, column in enumerate(columns)}
        self._prefix = ""
        super().__init__(self._column)

    def _column(self, row: str, attribute: str) -> str:
        column = self._prefix + attribute
        if column not in self._index:
            raise Fallback
        return f"{row}[{self._index[column]}]"

    def _nested(self, field: Nested) -> str:
        if not field.relation:
            raise Fallback
        outer = self._prefix
        presence = self._column("row", f"{field.attribute}__pk")
        self._prefix = f"{outer}{field.attribute}__"
        try:
            inner = self.function(field.plan)
        finally:
            self._prefix = outer
        absent = "_fall_back()" if field.non_null else "None"
        return f"({inner}(row) if {presence} is not None else {absent})"


def _compiled(source: _Source, plan: ObjectPlan) -> Completer:
    name = source.function(plan)
    namespace = dict(source.names)
    exec("\n".join(source.lines), namespace)
    completer: Completer = namespace[name]
    return completer


def tuple_columns(plan: ObjectPlan) -> list[str] | None:
    """The ``values_list`` columns that rows of ``plan`` are read as; None
    if its rows must be objects (a plain type)."""
    if plan.model is None:
        return None
    columns: list[str] = []

    def gather(plan: ObjectPlan, prefix: str) -> bool:
        for field in plan.fields:
            if isinstance(field, Leaf | NodeID):
                columns.append(prefix + field.attribute)
            elif isinstance(field, Nested):
                if not field.relation:
                    return False
                columns.append(f"{prefix}{field.attribute}__pk")
                if not gather(field.plan, f"{prefix}{field.attribute}__"):
                    return False
        return True

    if not gather(plan, ""):
        return None
    return list(dict.fromkeys(columns))


class Completers:
    """The functions of each plan, made on first use."""

    def __init__(self) -> None:
        self._objects: dict[ObjectPlan, Completer] = {}
        self._tuples: dict[tuple[ObjectPlan, tuple[str, ...]], Completer | None] = {}

    def for_objects(self, plan: ObjectPlan) -> Completer:
        if plan not in self._objects:
            self._objects[plan] = _compiled(_ObjectSource(), plan)
        return self._objects[plan]

    def for_rows(self, plan: ObjectPlan, rows: list[Any]) -> Completer | None:
        """The function for ``rows`` of ``plan``, as they were read."""
        if isinstance(rows, TupleRows):
            return self.for_tuples(plan, rows.columns)
        return self.for_objects(plan)

    def for_tuples(self, plan: ObjectPlan, columns: tuple[str, ...]) -> Completer | None:
        """None when the columns do not hold what the plan selects."""
        key = (plan, columns)
        if key not in self._tuples:
            try:
                self._tuples[key] = _compiled(_TupleSource(columns), plan)
            except Fallback:
                self._tuples[key] = None
        return self._tuples[key]


completers = Completers()


def columns_below(info: Info, field_name: str) -> list[str] | None:
    """The columns that rows of the resolved field's ``field_name`` are read
    as when every selection of it there is compiled (all aliases alike);
    None where graphql-core is to complete them (or ``GRAPHQL_COMPILED`` is off)."""
    if settings.GRAPHQL_COMPILED == "off":
        return None
    raw = info._raw_info
    parent = get_named_type(raw.return_type)
    assert isinstance(parent, GraphQLObjectType)
    collecting = Collecting(
        raw.schema,
        {name: FragmentDetails(definition) for name, definition in raw.fragments.items()},
        # strawberry hands resolvers the coerced values alone.
        VariableValues({}, cast(dict[str, Any], raw.variable_values)),
        raw.operation,
    )
    details = [FieldDetails(node, None) for node in raw.field_nodes]
    grouped = collect_subfields(
        raw.schema,
        collecting.fragments,
        collecting.variable_values,
        raw.operation,
        parent,
        details,
    ).grouped_field_set
    groups = [group for group in grouped.values() if group[0].node.name.value == field_name]
    item_type = get_named_type(parent.fields[field_name].type)
    if not groups or not isinstance(item_type, GraphQLObjectType):
        return None
    columns: list[str] = []
    for group in groups:
        plan = plans.plan(collecting, item_type, group)
        planned = tuple_columns(plan) if plan is not None else None
        if planned is None:
            return None
        columns += planned
    return list(dict.fromkeys(columns))
