"""Read an experiment's declared reach: the ``gameday`` entry of its Chaos Toolkit ``extensions``.

    extensions:
      - name: gameday
        reach: [kubernetes]
        permissions:
          kubernetes: ["list pods", "delete pods"]

Chaos Toolkit keeps ``extensions`` for tools like this one, so ``chaos run`` takes the file
unchanged. An unknown reach, a malformed entry or two ``gameday`` entries are refused at the
file's line, naming the allowed values; :func:`required_declaration` refuses a missing one too
(every file of the catalog declares its reach).
"""

from __future__ import annotations

from pathlib import Path

from gamedays.loading.source import Document, read_json, read_yaml
from gamedays.loading.validation import validate_document
from gamedays.model.declaration import EXTENSION, ExperimentExtension, ReachDeclaration
from gamedays.model.errors import InvalidInput
from gamedays.model.reach import allowed_values

#: How to declare a reach, for the messages that ask for one.
HOW_TO_DECLARE = (
    f"declare it in the experiment's extensions: - {{name: {EXTENSION}, reach: [...], permissions: {{...}}}} "
    f"(reach allowed: {allowed_values()})"
)


def experiment_document(path: Path) -> Document:
    """The experiment file as a located document (a JSON file has no line index)."""
    if path.suffix != ".json":
        return read_yaml(path)
    return Document(path=path, data=read_json(path), lines={})


def declared_reach(doc: Document) -> ReachDeclaration | None:
    """The reach the experiment ``doc`` declares; None when it declares none; InvalidInput when malformed."""
    data = doc.data
    extensions = data.get("extensions") if isinstance(data, dict) else None
    if extensions is None:
        return None
    if not isinstance(extensions, list):
        raise InvalidInput([doc.problem(("extensions",), "extensions must be a list of mappings, each with a name")])
    found = [i for i, entry in enumerate(extensions) if isinstance(entry, dict) and entry.get("name") == EXTENSION]
    if not found:
        return None
    if len(found) > 1:
        first = doc.line(("extensions", found[0]))
        raise InvalidInput(
            [doc.problem(("extensions", found[1]), f"a second '{EXTENSION}' extension (the first is at line {first}): keep one")]
        )
    extension = validate_document(ExperimentExtension, doc, root=("extensions", found[0]))
    return ReachDeclaration(reach=extension.reach, permissions=extension.permissions)


def required_declaration(doc: Document) -> ReachDeclaration:
    """:func:`declared_reach`, with a missing declaration refused at the file's first line."""
    declaration = declared_reach(doc)
    if declaration is None:
        where = ("extensions",) if isinstance(doc.data, dict) and "extensions" in doc.data else ()
        raise InvalidInput([doc.problem(where, f"the experiment declares no reach: {HOW_TO_DECLARE}")])
    return declaration
