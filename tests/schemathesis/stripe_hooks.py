"""What the Stripe face's OpenAPI document cannot say, taught to Schemathesis.

Its bodies are forms whose nested values are bracketed keys (`encoding: style: deepObject`), which
Schemathesis does not write for a form body: the serializer here writes them as Stripe's clients do
(`card[exp_month]=12`, `expand[0]=customer`, `confirm=true`).

A few rules compare a value with the clock or with what the server holds, or are more than a
pattern can say: a card number's check digit and an expiry in the future, a return address that
parses as a URL, a webhook address outside private networks, an idempotency key that names no
other request. Cases that should be valid (the positive ones) are brought within
those rules; cases meant to be invalid are not touched, so every schema rule is still tried from
both sides.
"""
import copy
import itertools
import json
import os
import re
import sys
import uuid
from datetime import date
from urllib.parse import parse_qsl, urlencode

import schemathesis
from schemathesis.core.jsonschema import make_validator
from schemathesis.core.parameters import ParameterLocation
from schemathesis.generation.modes import GenerationMode
from schemathesis.specs.openapi.checks import _has_other_negated_location

# Schemathesis loads this file by its path, not as a package: its folder is put on the path for
# the module beside it, which parses Python one thread at a time (see there).
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import one_parse  # noqa: E402,F401

GOOD_CARD = {"number": "4242424242424242", "exp_month": 12, "exp_year": date.today().year + 3}


def _scalar(value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return ""
    return str(value)


def _pairs(prefix: str, value, out: list) -> None:
    if value in ({}, []):
        # Nothing to nest: the parameter is sent empty, as Stripe's clients unset one.
        out.append((prefix, ""))
    elif isinstance(value, dict):
        for key, item in value.items():
            _pairs(f"{prefix}[{key}]", item, out)
    elif isinstance(value, list):
        for index, item in enumerate(value):
            _pairs(f"{prefix}[{index}]", item, out)
    else:
        out.append((prefix, _scalar(value)))


@schemathesis.serializer("application/x-www-form-urlencoded")
def stripe_form(ctx, value):
    """A form as Stripe's clients write it: nested keys in brackets, lists by index."""
    if value is None:
        return None
    if isinstance(value, bytes):
        return value
    if isinstance(value, str):
        return value.encode("utf-8")
    if not isinstance(value, dict):
        # Not a form at all (a list, a number): sent as its JSON text, which is no form either.
        return json.dumps(value).encode("utf-8")
    out: list = []
    for key, item in value.items():
        _pairs(str(key), item, out)
    return urlencode(out).encode("ascii")


def _positive(case) -> bool:
    meta = case.meta
    return meta is not None and meta.generation.mode == GenerationMode.POSITIVE


@schemathesis.hook
def map_case(context, case):
    return _within_rules(case) if _positive(case) else _sendable(case)


def _sendable(case):
    # Query values travel as text, and some invalid values have the same text as valid ones: a
    # single value where the document says a list (`expand[]`) is a list of one, and the string "6"
    # where it says an integer (`created[gt]`) is the integer 6. Schemathesis allows for this with
    # a query parameter of its own, but not inside a list or a deepObject. Such a value cannot be
    # sent as the invalid value meant, so it is not sent at all, which Schemathesis then knows made
    # nothing invalid.
    if isinstance(case.query, dict):
        query = dict(case.query)
        for name, value in case.query.items():
            if name.endswith("[]") and not isinstance(value, list):
                del query[name]
        # A deepObject is already written out as its keys here: `created[gt]`, `created[lte]`.
        bounds = {name: value for name, value in query.items() if name == "created" or name.startswith("created[")}
        if bounds and _valid_range_text(bounds):
            for name in bounds:
                del query[name]
        case.query = query
    return case


def _valid_range_text(bounds: dict) -> bool:
    """Whether `created[...]` as sent reads as a valid range: bounds that are whole numbers or empty."""
    if not set(bounds) <= {"created[gt]", "created[gte]", "created[lt]", "created[lte]"}:
        return False
    for bound in bounds.values():
        if isinstance(bound, (dict, list)):
            # As the HTTP client sends them: a list's items, or an object's keys, as repeated keys,
            # leaving out those that are None. One is that value; none is no value.
            sent = [item for item in bound if item is not None]
            if len(sent) > 1:
                return False
            bound = sent[0] if sent else ""
        if isinstance(bound, (dict, list)):
            return False
        text = _scalar(bound)
        if text and not (re.fullmatch(r"-?[0-9]+", text) and -(2**63) <= int(text) < 2**63):
            return False
    return True


@schemathesis.hook
def before_add_examples(context, examples):
    for case in examples:
        _within_rules(case)


def _fix_card(card):
    if isinstance(card, dict):
        card.update(GOOD_CARD)
        if card.get("cvc"):
            card["cvc"] = "123"


def _within_rules(case):
    headers = dict(case.headers or {})
    key = headers.get("Idempotency-Key")
    if isinstance(key, str) and key.strip():
        # A key names one request: another case that drew the same key is another request.
        headers["Idempotency-Key"] = f"{key.strip()[:200]}-{uuid.uuid4()}"
        case.headers = headers
    if not isinstance(case.body, dict):
        return case
    body = copy.deepcopy(case.body)
    _fix_card(body.get("card"))
    if isinstance(body.get("payment_method_data"), dict):
        _fix_card(body["payment_method_data"].get("card"))
    if body.get("return_url"):
        # An address that parses as a URL, which a pattern cannot fully say.
        body["return_url"] = "https://shop.example/done"
    if case.operation.path == "/v1/webhook_endpoints":
        body["url"] = "https://shop.example/hooks/stripe"
    case.body = body
    return case


# Answers a valid request gets because of what the server holds, which no request schema can state:
# an object not in a state for the request (a capture of what is not authorized, a refund of more
# than is left, an attach of a card already used, a card saved from an intent with no customer),
# and a list's cursor that is not an id of that list. A code of `parameter_…` is never one of them: that is the document and the server
# disagreeing.
STATE_CODES = {
    "payment_intent_unexpected_state",
    "setup_intent_unexpected_state",
    "payment_method_unexpected_state",
    "amount_too_large",
}
CURSORS = {"starting_after", "ending_before"}


@schemathesis.hook
def filter_failure(context, failure, case, response):
    if failure.code == "ST201":
        return not _form_is_valid_as_sent(case, response)
    if failure.code != "ST202" or response is None or response.status_code != 400:
        return True
    try:
        error = response.json()["error"]
    except (ValueError, KeyError, TypeError):
        return True
    if error.get("code") in STATE_CODES:
        return False
    if error.get("param") == "setup_future_usage" and "needs an intent created with a customer" in error.get("message", ""):
        # Saving the card takes an intent made with a customer: on create the document says so, on
        # confirm it is the intent's to know.
        return False
    return not (error.get("code") == "resource_missing" and error.get("param") in CURSORS)


# A form carries text only: the boolean `true` where a string is meant is sent as the string
# "true", and an empty object or list as an empty value. Schemathesis reads a form back as the
# server does before calling an accepted invalid case a failure, but only a flat one: a body with a
# bracketed key (`metadata[tier]=gold`) is read as a field named "metadata[tier]", which no schema
# has, and so an invalid case that became valid on the wire is still reported. Here the form is read
# back nested, as the server reads it, each value as any of the things its text may stand for.
BRACKETS = re.compile(r"([^\[\]]+)((?:\[[^\[\]]*\])*)")
MOST_READINGS = 4096


def _form_is_valid_as_sent(case, response) -> bool:
    meta = case.meta
    if response is None or meta is None or not meta.is_negative_at(ParameterLocation.BODY):
        return False
    if _has_other_negated_location(case, ParameterLocation.BODY) or case.media_type != "application/x-www-form-urlencoded":
        return False
    content = response.request.body
    if isinstance(content, str):
        content = content.encode()
    if not isinstance(content, bytes):
        return False
    body = _read_form(content)
    body_schema = case.operation.get_body_for_media_type(case.media_type)
    if body is None or body_schema is None:
        return False
    validator = make_validator(body_schema.optimized_schema, case.operation.schema.adapter.jsonschema_validator_cls)
    leaves = list(_leaves(body, ()))
    choices = [_readings(text) for _, text in leaves]
    for readings in itertools.islice(itertools.product(*choices), MOST_READINGS):
        read = copy.deepcopy(body)
        for (path, _), reading in zip(leaves, readings):
            _put(read, path, reading)
        if validator.is_valid(_lists(read)):
            return True
    return False


def _read_form(content: bytes):
    """The form's fields nested by their brackets; None for a form that cannot be read one way only."""
    root: dict = {}
    for name, text in parse_qsl(content.decode("ascii", errors="replace"), keep_blank_values=True):
        match = BRACKETS.fullmatch(name)
        if match is None:
            return None
        keys = [match.group(1), *re.findall(r"\[([^\[\]]*)\]", match.group(2))]
        node = root
        for key in keys[:-1]:
            node = node.setdefault(key, {})
            if not isinstance(node, dict):
                return None
        if keys[-1] in node:
            # Named twice, or both a value and a nest.
            return None
        node[keys[-1]] = text
    return root


def _leaves(node, path):
    for key, value in node.items():
        if isinstance(value, dict):
            yield from _leaves(value, (*path, key))
        else:
            yield (*path, key), value


def _put(node, path, value):
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = value


def _readings(text: str) -> list:
    """What a form value's text may stand for: itself, a number or boolean it spells, or nothing nested."""
    if text == "":
        return ["", {}, []]
    try:
        parsed = json.loads(text)
    except ValueError:
        return [text]
    return [text, parsed] if isinstance(parsed, (bool, int, float)) else [text]


def _lists(node):
    """A nest whose keys are 0, 1, 2, ... in order is a list, as `expand[0]=customer` is."""
    if not isinstance(node, dict):
        return node
    items = {key: _lists(value) for key, value in node.items()}
    if items and list(items) == [str(index) for index in range(len(items))]:
        return list(items.values())
    return items
