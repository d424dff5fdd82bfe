"""What Django's own frames on a query's stack say about it: the relation it loads, the template line that issued it,
and whether a project method is an override of Django's machinery.

``collect/callsite.py`` walks outward from each query and asks this module
only about the few code objects that can answer (``READERS``: a QuerySet's
``_fetch_all``, the related-object descriptors' ``__get__``, a template
node's ``render_annotated``), and about each project code object once. So a
query that goes through no relation and no template costs nothing here, and
every answer is cached per field, model, template file or code object
(issue 8: the SQL collector's hot path).

- **The relation.** A forward foreign key or one-to-one is read by
  ``ForwardManyToOneDescriptor.__get__`` (``self.field``), a reverse
  one-to-one by ``ReverseOneToOneDescriptor.__get__`` (``self.related``). A
  reverse foreign key or a many-to-many is a related manager's queryset,
  iterated in ``QuerySet._fetch_all``: Django marks it with the instance it
  belongs to (``_known_related_objects`` for a reverse foreign key,
  ``_hints["instance"]`` and a join of the through table for a many-to-many).
  The relation is named only when what ran says which one it is and a
  prefetch would serve it (no filter, ordering or annotation of its own);
  otherwise nothing is said rather than guessed.
- **The template line.** The innermost ``Node.render_annotated`` on the
  stack renders the node (a ``{% for %}``, a ``{{ variable }}``) that asked:
  its ``origin`` and ``token.lineno``. A compiled Jinja2 template's frames
  carry their template in ``f_globals["__jinja_template__"]``.
- **Overrides.** A method of the project's own subclass of Django's QuerySet,
  Manager, Model, model iterable or related descriptors, named like one of
  Django's (``_fetch_all``, ``get_queryset``, ``__iter__``, ``save``...), is
  Django's machinery extended, not the code that asked for the rows; the
  walk passes over it as over Django's own.
"""

from __future__ import annotations

import inspect
import os
from types import CodeType, FrameType
from typing import Any

# (relation, fix): ("Post.author", 'select_related("author")').
Relation = tuple[str, str]

# What a reader code object's frame holds, as ``Locator`` dispatches on it.
FETCH_ALL, FORWARD_GET, REVERSE_ONE_GET, RENDER_NODE = 1, 2, 3, 4

# Suffixes of a qualified name that are no function of their own: a comprehension is its
# function's own code from Python 3.12 on (PEP 709), and a lambda is written on its line.
_INLINE = frozenset({"<listcomp>", "<dictcomp>", "<setcomp>", "<genexpr>", "<lambda>"})


def function_name(code: CodeType) -> str | None:
    """The qualified name of the function ``code`` belongs to (``PostList.get``), None at module level.

    ``co_qualname`` from Python 3.11, ``co_name`` before. Comprehensions and
    lambdas count as the function they are written in, so the name does not
    change with the Python version.
    """
    parts = getattr(code, "co_qualname", code.co_name).split(".")
    while parts and parts[-1] in _INLINE:
        parts.pop()
        if parts and parts[-1] == "<locals>":
            parts.pop()
    name = ".".join(parts)
    return None if not name or name == "<module>" else name


class DjangoFrames:
    """Django's reader code objects and the answers their frames give, each worked out once."""

    def __init__(self, rootdir: str) -> None:
        from django.db.models import Manager, Model, QuerySet
        from django.db.models.fields import related_descriptors as descriptors
        from django.db.models.manager import BaseManager
        from django.db.models.query import BaseIterable, ModelIterable
        from django.template.base import Node

        self._rootdir = os.path.join(rootdir, "")
        self._model_iterable = ModelIterable
        codes = {
            QuerySet._fetch_all.__code__: FETCH_ALL,
            descriptors.ForwardManyToOneDescriptor.__get__.__code__: FORWARD_GET,
            descriptors.ReverseOneToOneDescriptor.__get__.__code__: REVERSE_ONE_GET,
            Node.render_annotated.__code__: RENDER_NODE,
        }
        self.readers = {id(code): reader for code, reader in codes.items()}  # id(): a code's own hash is slow
        self._codes = list(codes)  # keeps them alive, so their ids stay theirs
        self.files = frozenset(os.path.realpath(code.co_filename) for code in codes)
        # Django's classes a project extends, each with the names of the methods it (or a Django base) defines.
        bases: list[tuple[type, type]] = [
            (QuerySet, QuerySet),
            (BaseManager, Manager),  # a Manager has every QuerySet method as its own
            (Model, Model),
            (BaseIterable, ModelIterable),
            (descriptors.ForwardManyToOneDescriptor, descriptors.ForwardOneToOneDescriptor),
            (descriptors.ReverseOneToOneDescriptor, descriptors.ReverseOneToOneDescriptor),
            (descriptors.ReverseManyToOneDescriptor, descriptors.ManyToManyDescriptor),
        ]
        self._bases = [(base, _defined_names(named)) for base, named in bases]
        self.method_names = frozenset().union(*(names for _, names in self._bases))
        # One cache per reader: a foreign key is read forwards (Post.author) and backwards (Author.posts).
        self._relations: dict[int, dict[int, tuple[Any, Relation | None]]] = {FETCH_ALL: {}, FORWARD_GET: {}, REVERSE_ONE_GET: {}}
        self._many: dict[int, tuple[Any, list[tuple[str, Any, Relation]]]] = {}  # id(model) -> (model; its m2m)
        self._names: dict[str, str] = {}  # template file -> its name in reports

    # --- the relation ---------------------------------------------------------------

    def relation(self, reader: int, owner: Any) -> Relation | None:
        """The relation the frame of ``reader`` loads, ``owner`` its ``self``; None when it loads none or cannot tell."""
        try:
            if reader == FETCH_ALL:
                return self._queryset_relation(owner)
            if reader == FORWARD_GET:
                return self._cached(reader, owner.field, _forward)
            return self._cached(reader, owner.related, _reverse_one)
        except Exception:  # a field-like object of a third-party app: say nothing
            return None

    def _queryset_relation(self, queryset: Any) -> Relation | None:
        known = queryset._known_related_objects  # {the child's foreign key: {id: the parent}}, a reverse FK manager's
        if known:
            if len(known) != 1 or not self._prefetchable(queryset):
                return None
            return self._cached(FETCH_ALL, next(iter(known)), _reverse_many)
        hints = queryset._hints
        if not hints:
            return None  # an ordinary queryset: the common case, two truth tests
        instance = hints.get("instance")
        if instance is None:
            return None
        model = type(instance)
        entry = self._many.get(id(model))
        if entry is None:
            entry = self._many[id(model)] = (model, _many_to_many(model))
        if not entry[1] or not self._prefetchable(queryset):
            return None  # no many-to-many, or the manager's queryset narrowed: a prefetch would not serve it
        tables = {join.table_name for join in queryset.query.alias_map.values()}
        found = [answer for through, related, answer in entry[1] if through in tables and issubclass(queryset.model, related)]
        return found[0] if len(found) == 1 else None

    def _prefetchable(self, queryset: Any) -> bool:
        """A related manager's queryset as it comes, which ``prefetch_related`` would have cached."""
        query = queryset.query
        return (
            queryset._iterable_class is self._model_iterable
            and len(query.where.children) == 1  # the relation's own filter only
            and not query.order_by
            and not query.annotations
            and not query.extra
            and not query.distinct
            and query.select_related is False
            and not query.deferred_loading[0]
        )

    def _cached(self, reader: int, field: Any, name: Any) -> Relation | None:
        """``name(field)``, worked out once per field (or reverse relation) and reader; the field kept alive for its id."""
        cache = self._relations[reader]
        entry = cache.get(id(field))
        if entry is None:
            entry = cache[id(field)] = (field, name(field))
        return entry[1]

    # --- the template line ------------------------------------------------------------

    def node_site(self, node: Any) -> tuple[str, int] | None:
        """(template, line) of the Django template node being rendered."""
        try:
            origin, line = node.origin, node.token.lineno
            name = self._names.get(origin.name)
            if name is None:
                name = self._template_name(origin.name, origin.template_name)
            return name, line
        except Exception:  # a node built by hand, without a token or an origin
            return None

    def jinja_site(self, frame: FrameType) -> tuple[str, int] | None:
        """(template, line) of a compiled Jinja2 template's frame."""
        try:
            template = frame.f_globals["__jinja_template__"]
            filename = template.filename or template.name or "<template>"
            name = self._names.get(filename)
            if name is None:
                name = self._template_name(filename, template.name)
            return name, template.get_corresponding_lineno(frame.f_lineno)
        except Exception:
            return None

    def _template_name(self, path: str, template_name: str | None) -> str:
        """A template file's path relative to the rootdir, like every other path; else the name it was loaded by."""
        real = os.path.realpath(path) if os.path.isabs(path) else ""
        if real.startswith(self._rootdir):
            name = os.path.relpath(real, self._rootdir).replace(os.sep, "/")
        else:
            name = template_name or path
        if real:
            self._names[path] = name  # a file's name never changes; an "<unknown source>" may be any template's
        return name

    # --- overrides ----------------------------------------------------------------------

    def overrides_django(self, code: CodeType, frame: FrameType) -> bool:
        """Whether ``code`` is a method of a subclass of Django's QuerySet, Manager, Model... that Django defines too."""
        name = code.co_name
        if name not in self.method_names or not code.co_argcount:
            return False
        try:
            owner = frame.f_locals.get(code.co_varnames[0])  # self, or cls
            cls = owner if isinstance(owner, type) else type(owner)
            if not any(_code_of(vars(klass).get(name)) is code for klass in cls.__mro__):
                return False  # a function that takes a queryset or a model first, not one of its methods
            return any(issubclass(cls, base) and name in names for base, names in self._bases)
        except Exception:
            return False


def _defined_names(cls: type) -> frozenset[str]:
    """The attributes ``cls`` and its bases define, ``object``'s own left out."""
    return frozenset(name for klass in cls.__mro__ if klass is not object for name in vars(klass))


def _code_of(attribute: Any) -> Any:
    found = getattr(attribute, "__func__", attribute)  # classmethod, staticmethod
    found = getattr(found, "fget", found)  # property
    return getattr(inspect.unwrap(found), "__code__", None) if callable(found) else None


def _forward(field: Any) -> Relation:
    return f"{field.model._meta.object_name}.{field.name}", f'select_related("{field.name}")'


def _reverse_one(related: Any) -> Relation | None:
    accessor = _accessor(related)
    return (f"{related.model._meta.object_name}.{accessor}", f'select_related("{accessor}")') if accessor else None


def _reverse_many(field: Any) -> Relation | None:
    """The reverse side of the child's foreign key ``field``: ``Author.posts``."""
    rel = field.remote_field
    accessor = _accessor(rel)
    return (f"{rel.model._meta.object_name}.{accessor}", f'prefetch_related("{accessor}")') if accessor else None


def _accessor(rel: Any) -> str | None:
    """The attribute a reverse relation is read by; None when it has none (``related_name="+"``, symmetrical)."""
    accessor = rel.get_accessor_name()
    return accessor if accessor and not accessor.endswith("+") else None


def _many_to_many(model: Any) -> list[tuple[str, Any, Relation]]:
    """(through table, related model, relation) of each many-to-many of ``model``, either side."""
    name = model._meta.object_name
    found = [
        (field.remote_field.through._meta.db_table, field.related_model, (f"{name}.{field.name}", f'prefetch_related("{field.name}")'))
        for field in model._meta.many_to_many
    ]
    for rel in model._meta.related_objects:
        if rel.many_to_many and (accessor := _accessor(rel)):
            found.append((rel.through._meta.db_table, rel.related_model, (f"{name}.{accessor}", f'prefetch_related("{accessor}")')))
    return found
