"""What Kassa's OpenAPI document cannot say, taught to Schemathesis.

The document carries every rule a JSON Schema can express. A few rules compare a value with
another field, with the clock or with what the server holds: a card's check digit and expiry, a tip
within the amount, a cursor this API gave, a webhook address outside private networks. Cases that should be valid (the positive ones) are
brought within those rules here; the rest of each case is left as generated. Cases meant to be
invalid are not touched, so every schema rule is still tried from both sides.
"""
import copy
import os
import sys
from datetime import date

import schemathesis
from schemathesis.generation.modes import GenerationMode

# Schemathesis loads this file by its path, not as a package: its folder is put on the path for
# the module beside it, which parses Python one thread at a time (see there).
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import one_parse  # noqa: E402,F401

MAX_AMOUNT = 10_000_000_000
GOOD_CARD = {"number": "4242424242424242", "expMonth": 12, "expYear": date.today().year + 3}


def _positive(case) -> bool:
    meta = case.meta
    return meta is not None and meta.generation.mode == GenerationMode.POSITIVE


def _number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _fix_card(card):
    if isinstance(card, dict):
        card.update(GOOD_CARD)
        if card.get("cvc") is not None:
            card["cvc"] = "123"


@schemathesis.hook
def map_case(context, case):
    return _within_rules(case) if _positive(case) else case


@schemathesis.hook
def before_add_examples(context, examples):
    # The examples phase builds its cases from the document's examples without `map_case`: each
    # is meant to be valid, so each is brought within the same rules.
    for case in examples:
        _within_rules(case)


def _within_rules(case):
    path = case.operation.path
    # Changed on a copy and set back: a case's parts may be views of what it sends.
    body = copy.deepcopy(case.body) if isinstance(case.body, dict) else None
    if isinstance(case.query, dict):
        # A cursor is the `meta.cursor` of a page this API gave; a date is one the server reads.
        query = dict(case.query)
        query.pop("cursor", None)
        for field in ("dateFrom", "dateTo"):
            if field in query:
                query[field] = "2026-01-31"
        case.query = query
    if body is None:
        return case
    _fix_card(body.get("card"))
    if path.endswith("/payments/sale") and _number(body.get("tipCents")) and _number(body.get("amountCents")):
        body["tipCents"] = int(min(body["tipCents"], body["amountCents"], MAX_AMOUNT - body["amountCents"]))
    if "orderId" in body:
        # An orderId must name one of the merchant's orders, in the payment's currency: neither is
        # the case's to know.
        body.pop("orderId")
    if path.endswith("/processor") and body.get("processor") == "stripe":
        # Stripe (here localstripe) takes only its own account's keys.
        body["secretKey"] = os.environ["KASSA_STRIPE_SECRET_KEY"]
    if path.endswith("/confirm"):
        # Within the intent's amount, which the case cannot know; on the confirming page's site.
        body.pop("tipCents", None)
        body.pop("returnUrl", None)
        body["frameAncestors"] = ["https://shop.example"] if body.get("frameAncestors") else []
    if path.endswith("/webhook-endpoints"):
        body["url"] = "https://shop.example/hooks/kassa"
    if path.endswith(("/orders", "/orders/{id}")) and isinstance(body.get("lineItems"), list):
        lines = [i for i in body["lineItems"] if isinstance(i, dict)]
        share = MAX_AMOUNT // max(1, int(sum(i["quantity"] for i in lines if _number(i.get("quantity")))))
        for item in lines:
            if _number(item.get("unitAmountCents")):
                item["unitAmountCents"] = int(min(item["unitAmountCents"], share))
    case.body = body
    return case


# Two kinds of rule no request schema can state, whose answer is the rule itself and no failure:
# values the stateful phase carries from one response into the next request after `map_case` (an
# order put beside another currency), and limits set by the object the request names (a capture
# within what was authorized and covering the tip, a tip within the intent's amount, a saved card
# only for an intent with a customer, a correction that changes something). The document states
# each in words.
RULES_NO_SCHEMA_CAN_STATE = (
    "a payment for it must be too",
    "amountCents must be between 1 and the authorized",
    "A capture must cover the tip",
    "tipCents must be between zero and the amount",
    "saveCard needs an intent created with a customerId",
    "nothing to correct",
)


@schemathesis.hook
def filter_failure(context, failure, case, response):
    if failure.code != "ST202" or response is None or response.status_code != 400:
        return True
    try:
        message = response.json()["error"]["message"]
    except (ValueError, KeyError, TypeError):
        return True
    return not any(rule in message for rule in RULES_NO_SCHEMA_CAN_STATE)
