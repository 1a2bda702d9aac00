"""A Stripe-shaped stand-in for the tests: localstripe (PyPI) with the parts of Stripe's API that
Kassa's connector uses and localstripe lacks.

localstripe keeps the records (payment methods, PaymentIntents, charges, refunds) and answers the
API as it does. On top of it:

* A confirmation takes `return_url`, as Stripe's does. A PaymentIntent that needs 3-D Secure then
  answers `next_action: {type: "redirect_to_url", redirect_to_url: {url, return_url}}`, where `url`
  is this server's own challenge page, like the test page Stripe shows in test mode: it completes
  or fails the authentication, then sends the cardholder to `return_url` with `payment_intent`,
  `payment_intent_client_secret` and `redirect_status` added, as Stripe does.
* A charge carries `payment_method_details.card.checks` and an `authorization_code`, as Stripe's
  do: the CVC and postal code pass, except with Stripe's test cards 4000 0000 0000 0101 (the CVC
  check fails) and 4000 0000 0000 0036 (the postal code check fails).
* A card payment method may leave out the CVC, as Stripe's may; its charges then report no CVC
  check.
* It listens on 127.0.0.1 only, and keeps nothing on disk (localstripe writes its whole store to
  one fixed file after every change, which several instances cannot share).

Usage: python stripe_stand_in.py --port PORT
"""

import argparse
import html
import sys
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from aiohttp import web

import localstripe.resources as resources

resources.Store.dump_to_disk = lambda self: None

PaymentIntent = resources.PaymentIntent
CHALLENGE_PATH = '/_stand_in/3ds/'
base_url = ''

_localstripe_confirm = PaymentIntent._api_confirm


def confirm(id, return_url=None, **kwargs):
    obj = _localstripe_confirm(id, **kwargs)
    if return_url is not None:
        parts = urlsplit(return_url)
        if parts.scheme not in ('http', 'https') or not parts.netloc:
            raise resources.UserError(400, 'return_url must be an absolute http(s) URL')
        obj._return_url = return_url
        if obj.next_action:
            page = base_url + CHALLENGE_PATH + obj.id + '?' + urlencode({'client_secret': obj.client_secret})
            obj.next_action = {
                'type': 'redirect_to_url',
                'redirect_to_url': {'url': page, 'return_url': return_url},
            }
    return obj


CVC_FAILS = '4000000000000101'
POSTAL_CODE_FAILS = '4000000000000036'

_localstripe_charge_init = resources.Charge.__init__
_localstripe_method_init = resources.PaymentMethod.__init__


def method_init(self, type=None, card=None, **kwargs):
    without_cvc = type == 'card' and isinstance(card, dict) and 'cvc' not in card
    if without_cvc:
        card = {**card, 'cvc': '000'}
    _localstripe_method_init(self, type=type, card=card, **kwargs)
    self._without_cvc = without_cvc


resources.PaymentMethod.__init__ = method_init


def charge_init(self, *args, **kwargs):
    _localstripe_charge_init(self, *args, **kwargs)
    if not str(self.payment_method).startswith('pm_'):
        return
    method = resources.PaymentMethod._api_retrieve(self.payment_method)
    number = getattr(method, '_card_number', '')
    postal_code = (method.billing_details.get('address') or {}).get('postal_code')
    self.payment_method_details = {'type': 'card', 'card': {
        'brand': method.card['brand'],
        'last4': method.card['last4'],
        'checks': {
            'address_line1_check': None,
            'address_postal_code_check': None if not postal_code else 'fail' if number == POSTAL_CODE_FAILS else 'pass',
            'cvc_check': None if getattr(method, '_without_cvc', False) else 'fail' if number == CVC_FAILS else 'pass',
        },
    }}
    self.authorization_code = resources.random_id(6).upper() if self._authorized else None


resources.Charge.__init__ = charge_init

# The routes are made from `extra_apis` when localstripe's server module is imported, so the
# confirmation is swapped there first.
for i, (method, url, func) in enumerate(resources.extra_apis):
    if (method, url) == ('POST', '/v1/payment_intents/{id}/confirm'):
        resources.extra_apis[i] = (method, url, confirm)

import localstripe.server as server  # noqa: E402  (after the swap above)

PAGE = """<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>3D Secure 2 test page</title>
<style>
body {{ font: 15px/1.5 system-ui, sans-serif; margin: 0; padding: 24px; color: #1a1f36; }}
h1 {{ font-size: 18px; margin: 0 0 8px; }}
p {{ color: #4f566b; margin: 0 0 20px; }}
form {{ display: flex; gap: 12px; flex-wrap: wrap; }}
button {{ font: 600 15px system-ui, sans-serif; padding: 10px 18px; border-radius: 6px; border: 1px solid #c3c8d4; background: #fff; cursor: pointer; }}
button[value=complete] {{ background: #635bff; border-color: #635bff; color: #fff; }}
</style></head>
<body>
<main>
<h1>3D Secure 2 test page</h1>
<p>A test payment of {amount} {currency} asks for authentication. Complete it, or fail it, as the
cardholder's bank would.</p>
<form method="post">
<input type="hidden" name="client_secret" value="{client_secret}">
<button type="submit" name="outcome" value="fail">Fail authentication</button>
<button type="submit" name="outcome" value="complete">Complete authentication</button>
</form>
</main>
</body>
</html>
"""


def challenged(request, client_secret):
    """The PaymentIntent of a challenge page, when `client_secret` is its own."""
    try:
        obj = PaymentIntent._api_retrieve(request.match_info['id'])
    except resources.UserError:
        raise web.HTTPNotFound()
    if client_secret != obj.client_secret or getattr(obj, '_return_url', None) is None:
        raise web.HTTPNotFound()
    return obj


async def challenge_page(request):
    obj = challenged(request, request.query.get('client_secret'))
    if obj.status != 'requires_action':
        raise web.HTTPGone(text='This authentication is over.')
    body = PAGE.format(amount=obj.amount, currency=html.escape(obj.currency.upper()),
                       client_secret=html.escape(obj.client_secret))
    return web.Response(text=body, content_type='text/html')


async def challenge_answer(request):
    form = await request.post()
    obj = challenged(request, form.get('client_secret'))
    if obj.status == 'requires_action':
        success = form.get('outcome') == 'complete'
        try:
            PaymentIntent._api_authenticate(obj.id, client_secret=obj.client_secret, success=success)
        except resources.UserError:
            pass  # authenticated, then declined: the PaymentIntent says so, and Stripe still sends the cardholder back
    paid = obj.status in ('succeeded', 'requires_capture', 'processing')
    status = 'succeeded' if paid else 'failed'
    parts = urlsplit(obj._return_url)
    query = parse_qsl(parts.query) + [
        ('payment_intent', obj.id),
        ('payment_intent_client_secret', obj.client_secret),
        ('redirect_status', status),
    ]
    raise web.HTTPSeeOther(urlunsplit(parts._replace(query=urlencode(query))))


@web.middleware
async def auth_middleware(request, handler):
    # The challenge page is the cardholder's: its address carries the client secret instead.
    if request.path.startswith(CHALLENGE_PATH):
        return await handler(request)
    return await server.auth_middleware(request, handler)


def main():
    global base_url
    parser = argparse.ArgumentParser()
    parser.add_argument('--port', type=int, required=True)
    args = parser.parse_args()
    base_url = 'http://127.0.0.1:%d' % args.port

    app = server.app
    app.middlewares[app.middlewares.index(server.auth_middleware)] = auth_middleware
    app.router.add_get(CHALLENGE_PATH + '{id}', challenge_page)
    app.router.add_post(CHALLENGE_PATH + '{id}', challenge_answer)
    print('Stripe stand-in on', base_url, file=sys.stderr, flush=True)
    web.run_app(app, host='127.0.0.1', port=args.port, print=None, access_log=None)


if __name__ == '__main__':
    main()
