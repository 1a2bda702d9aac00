"""Stripe's own Python library, unchanged, against a live Kassa: the flows a shop's Stripe code
runs, each checked as that code would read the answers. Pointed at Kassa by one setting,
`stripe.api_base`. Prints one JSON line of what it made, for the test that runs it to check
through Kassa's own API; exits non-zero on the first flow that fails."""

import json
import os
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, HTTPServer

import stripe

stripe.api_base = os.environ["KASSA_URL"]
stripe.api_key = os.environ["KASSA_SECRET_KEY"]
made = {}


def expect(condition, what):
    if not condition:
        raise AssertionError(what)


def raises(kind, call):
    try:
        call()
    except kind as error:
        return error
    raise AssertionError(f"expected {kind.__name__}")


def create_and_confirm():
    pi = stripe.PaymentIntent.create(amount=2000, currency="usd", payment_method="pm_card_visa", confirm=True,
                                     metadata={"order": "6735"}, description="Tea for two", expand=["latest_charge"])
    expect(pi.status == "succeeded", f"status {pi.status}")
    expect(pi.amount_received == 2000, f"amount_received {pi.amount_received}")
    expect(pi.metadata["order"] == "6735", "metadata")
    expect(pi.latest_charge.object == "charge" and pi.latest_charge.paid, "expanded latest_charge")
    expect(pi.latest_charge.payment_method_details.card.last4 == "4242", "card last4")
    again = stripe.PaymentIntent.retrieve(pi.id)
    expect(again.status == "succeeded" and again.description == "Tea for two", "retrieve")
    made["succeeded"] = pi.id


def manual_capture_and_refunds():
    pi = stripe.PaymentIntent.create(amount=2000, currency="eur", payment_method="pm_card_mastercard", confirm=True,
                                     capture_method="manual")
    expect(pi.status == "requires_capture" and pi.amount_capturable == 2000, f"status {pi.status}")
    pi = stripe.PaymentIntent.capture(pi.id, amount_to_capture=1500)
    expect(pi.status == "succeeded" and pi.amount_received == 1500, f"captured {pi.amount_received}")
    refund = stripe.Refund.create(payment_intent=pi.id, amount=500, reason="requested_by_customer")
    expect(refund.object == "refund" and refund.status == "succeeded" and refund.amount == 500, f"refund {refund}")
    expect(refund.payment_intent == pi.id and refund.charge == pi.latest_charge, "refund names its payment")
    expect(stripe.Refund.retrieve(refund.id).amount == 500, "refund retrieve")
    error = raises(stripe.InvalidRequestError, lambda: stripe.Refund.create(payment_intent=pi.id, amount=1001))
    expect(error.http_status == 400 and error.code == "amount_too_large", f"past the captured amount: {error.code}")
    charge = stripe.Charge.retrieve(pi.latest_charge)
    expect(charge.amount_captured == 1500 and charge.amount_refunded == 500, f"charge {charge.amount_captured} {charge.amount_refunded}")
    by_charge = stripe.Refund.create(charge=charge.id, amount=1000)
    expect(by_charge.status == "succeeded", "refund by charge")
    refunds = stripe.Refund.list(payment_intent=pi.id)
    expect([r.amount for r in refunds.data] == [1000, 500], f"refunds listed {[r.amount for r in refunds.data]}")
    made["partly_refunded"] = pi.id


def decline():
    error = raises(stripe.CardError, lambda: stripe.PaymentIntent.create(
        amount=1000, currency="usd", payment_method="pm_card_chargeDeclinedInsufficientFunds", confirm=True))
    expect(error.http_status == 402, f"status {error.http_status}")
    expect(error.code == "card_declined", f"code {error.code}")
    expect(error.error.decline_code == "insufficient_funds", f"decline_code {error.error.decline_code}")
    pi = error.error.payment_intent
    expect(pi is not None and pi.status == "requires_payment_method", "the declined intent takes another card")
    pi = stripe.PaymentIntent.confirm(pi.id, payment_method="pm_card_visa")
    expect(pi.status == "succeeded", "a second card pays")
    expired = raises(stripe.CardError, lambda: stripe.PaymentIntent.create(
        amount=1000, currency="usd", payment_method="tok_chargeDeclinedExpiredCard", confirm=True))
    expect(expired.code == "expired_card", f"expired {expired.code}")


def update_then_cancel():
    pi = stripe.PaymentIntent.create(amount=1200, currency="usd", metadata={"cart": "1"})
    expect(pi.status == "requires_payment_method" and pi.client_secret.startswith(pi.id + "_secret_"), "new intent")
    pi = stripe.PaymentIntent.modify(pi.id, amount=1500, metadata={"cart": "2", "note": "gift"})
    expect(pi.amount == 1500 and pi.metadata["cart"] == "2" and pi.metadata["note"] == "gift", "modified")
    pi = stripe.PaymentIntent.cancel(pi.id, cancellation_reason="requested_by_customer")
    expect(pi.status == "canceled", f"status {pi.status}")
    error = raises(stripe.InvalidRequestError, lambda: stripe.PaymentIntent.confirm(pi.id, payment_method="pm_card_visa"))
    expect(error.http_status == 400, "a canceled intent is not confirmed")
    made["canceled"] = pi.id


def three_d_secure():
    pi = stripe.PaymentIntent.create(amount=3000, currency="usd", payment_method="pm_card_threeDSecure2Required", confirm=True,
                                     return_url="https://shop.example/done")
    expect(pi.status == "requires_action", f"status {pi.status}")
    expect(pi.next_action.type == "redirect_to_url" and pi.next_action.redirect_to_url.url.startswith("http"), "next_action")
    made["requires_action"] = pi.id


def customers_and_saved_cards():
    customer = stripe.Customer.create(email="ada@shop.example", name="Ada", metadata={"tier": "gold"})
    expect(customer.object == "customer" and customer.email == "ada@shop.example", "customer")
    customer = stripe.Customer.modify(customer.id, name="Ada Lovelace")
    expect(customer.name == "Ada Lovelace" and customer.metadata["tier"] == "gold", "modified customer")
    pm = stripe.PaymentMethod.create(type="card", card={"number": "4242424242424242", "exp_month": 12, "exp_year": 2034, "cvc": "123"})
    expect(pm.id.startswith("pm_") and pm.card.last4 == "4242" and pm.customer is None, "payment method")
    attached = stripe.PaymentMethod.attach(pm.id, customer=customer.id)
    expect(attached.id == pm.id and attached.customer == customer.id, "attached under the same id")
    listed = stripe.Customer.list_payment_methods(customer.id)
    expect([m.id for m in listed.data] == [pm.id], "listed by customer")
    listed = stripe.PaymentMethod.list(customer=customer.id, type="card")
    expect([m.id for m in listed.data] == [pm.id], "listed by PaymentMethod.list")
    pi = stripe.PaymentIntent.create(amount=4200, currency="usd", customer=customer.id, payment_method=pm.id,
                                     off_session=True, confirm=True, expand=["customer", "payment_method"])
    expect(pi.status == "succeeded", f"off-session status {pi.status}")
    expect(pi.customer.id == customer.id and pi.payment_method.id == pm.id, "expanded customer and payment method")
    setup = stripe.SetupIntent.create(customer=customer.id, payment_method="pm_card_visa_debit", confirm=True, usage="off_session")
    expect(setup.status == "succeeded" and setup.payment_method.startswith("pm_"), f"setup {setup.status}")
    expect(len(stripe.Customer.list_payment_methods(customer.id).data) == 2, "the set-up card is saved")
    detached = stripe.PaymentMethod.detach(pm.id)
    expect(detached.customer is None, "detached")
    expect([m.id for m in stripe.Customer.list_payment_methods(customer.id).data] == [setup.payment_method], "one card left")
    made["customer"] = customer.id
    made["off_session"] = pi.id
    deleted = stripe.Customer.delete(stripe.Customer.create(email="gone@shop.example").id)
    expect(deleted.deleted, "deleted customer")


def auto_paging():
    customer = stripe.Customer.create(email="pages@shop.example")
    ids = [stripe.PaymentIntent.create(amount=100 + i, currency="usd", customer=customer.id).id for i in range(5)]
    page = stripe.PaymentIntent.list(customer=customer.id, limit=2)
    expect(page.object == "list" and len(page.data) == 2 and page.has_more, "first page")
    seen = [pi.id for pi in stripe.PaymentIntent.list(customer=customer.id, limit=2).auto_paging_iter()]
    expect(seen == list(reversed(ids)), f"auto-paging saw {len(seen)} of 5, newest first")
    customers = [c.id for c in stripe.Customer.list(limit=1).auto_paging_iter()]
    expect(customer.id in customers and len(customers) == len(set(customers)), "customers auto-page")


def unknown_id_and_wrong_key():
    error = raises(stripe.InvalidRequestError, lambda: stripe.PaymentIntent.retrieve("pi_doesnotexist"))
    expect(error.http_status == 404 and error.code == "resource_missing", f"unknown id {error.http_status} {error.code}")
    error = raises(stripe.AuthenticationError, lambda: stripe.PaymentIntent.list(api_key="sk_test_wrong"))
    expect(error.http_status == 401, "wrong key")


class Receiver(BaseHTTPRequestHandler):
    received = []

    def do_POST(self):
        body = self.rfile.read(int(self.headers["content-length"]))
        Receiver.received.append((body, self.headers.get("stripe-signature")))
        self.send_response(200)
        self.end_headers()

    def log_message(self, *args):
        pass


def webhook():
    server = HTTPServer(("127.0.0.1", 0), Receiver)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    endpoint = stripe.WebhookEndpoint.create(url=f"http://127.0.0.1:{server.server_port}/hooks", enabled_events=["payment_intent.succeeded"])
    expect(endpoint.secret.startswith("whsec_"), "endpoint secret")
    pi = stripe.PaymentIntent.create(amount=999, currency="usd", payment_method="pm_card_visa", confirm=True)
    deadline = time.time() + 20
    events = []
    while time.time() < deadline and not events:
        for body, signature in Receiver.received:
            event = stripe.Webhook.construct_event(body, signature, endpoint.secret)
            if event.data.object.id == pi.id:
                events.append(event)
        time.sleep(0.1)
    expect(events, "the payment's event arrived")
    event = events[0]
    expect(event.type == "payment_intent.succeeded" and event.data.object.amount == 999, "event")
    raises(stripe.SignatureVerificationError, lambda: stripe.Webhook.construct_event(Receiver.received[0][0], Receiver.received[0][1], "whsec_other"))
    expect(stripe.Event.retrieve(event.id).type == "payment_intent.succeeded", "event retrieve")
    stripe.WebhookEndpoint.delete(endpoint.id)
    server.shutdown()
    made["webhook_event"] = event.id


FLOWS = [create_and_confirm, manual_capture_and_refunds, decline, update_then_cancel, three_d_secure,
         customers_and_saved_cards, auto_paging, unknown_id_and_wrong_key, webhook]

if __name__ == "__main__":
    only = sys.argv[1:]
    for flow in FLOWS:
        if only and flow.__name__ not in only:
            continue
        try:
            flow()
        except Exception as error:
            print(f"FLOW FAILED {flow.__name__}: {type(error).__name__}: {error}", file=sys.stderr)
            raise
        print(f"ok {flow.__name__}", file=sys.stderr)
    print(json.dumps(made))
