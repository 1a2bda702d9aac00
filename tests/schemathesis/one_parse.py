"""Parsing Python one thread at a time, for both hooks files.

Python 3.11 keeps one recursion counter for building AST objects, so two threads in `ast.parse`
at once can fail with "SystemError: AST constructor recursion depth mismatch" (CPython
gh-106905). Hypothesis parses its own source to name the filters it builds, and Schemathesis
runs two workers as threads: parsing one at a time keeps that error from ending a run. Importing
this module is enough.
"""
import ast
import threading

_parse = ast.parse
_parsing = threading.Lock()


def _parse_alone(*args, **kwargs):
    with _parsing:
        return _parse(*args, **kwargs)


if getattr(ast.parse, "__name__", "") != "_parse_alone":
    ast.parse = _parse_alone
