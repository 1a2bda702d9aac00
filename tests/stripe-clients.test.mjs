// Code written for Stripe, against Kassa: the official `stripe` libraries from npm (23.x) and PyPI
// (16.x), unchanged, pointed at a live kassa-server by their one setting for the API's address.
// The same flows run on the sandbox and through Kassa's Stripe connector (localstripe behind it),
// a reply lost on the way back is replayed to the client's own retry with one charge at the
// processor, and what the Stripe face makes is the same payment in Kassa's own API and its
// checkout.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { createServer } from 'node:http';
import { connect, createServer as createTcpServer } from 'node:net';
import { join } from 'node:path';
import Stripe from 'stripe';
import { startServer, root } from './support/server.mjs';
import { startLocalstripe, SECRET_KEY } from './support/localstripe.mjs';
import { pythonTool } from './support/python.mjs';
import { launchBrowser, screenshots } from './support/browser.mjs';
import { fillCard, startEmbeddingShop } from './support/shop.mjs';

const STRIPE_PYTHON = '16.1.0';

let sandbox;
let localstripe;
let connected;

before(async () => {
  localstripe = await startLocalstripe();
  [sandbox, connected] = await Promise.all([
    startServer(),
    startServer({ merchantArgs: ['--processor', 'stripe', '--processor-secret', SECRET_KEY], serveArgs: ['--stripe-api-base', localstripe.url] }),
  ]);
});

after(async () => {
  await sandbox?.stop();
  await connected?.stop();
  await localstripe?.stop();
});

/** stripe-node, as a shop configures it, but for where Stripe is. */
function client(server, key = server.merchant.secretKey, options = {}) {
  const { hostname, port } = new URL(server.url);
  return new Stripe(key, { host: hostname, port: Number(port), protocol: 'http', ...options });
}

/** Kassa's own API, for what the Stripe face made. */
async function kassa(server, path) {
  const response = await fetch(`${server.url}/api/v1${path}`, { headers: { authorization: `Bearer ${server.merchant.secretKey}` } });
  assert.equal(response.status, 200, path);
  return (await response.json()).data;
}

/** Runs tests/stripe_clients/flows.py with stripe-python against `server`; what it made. */
function pythonFlows(server, flows = []) {
  const python = join(pythonTool('stripe', STRIPE_PYTHON, 'stripe'), 'bin', 'python');
  const env = { ...process.env, KASSA_URL: server.url, KASSA_SECRET_KEY: server.merchant.secretKey };
  return new Promise((resolve, reject) => {
    execFile(python, [join(root, 'tests', 'stripe_clients', 'flows.py'), ...flows], { env, timeout: 180_000 }, (error, stdout, stderr) => {
      if (error) reject(new Error(`stripe-python flows failed:\n${stderr}`));
      else resolve(JSON.parse(stdout.trim().split('\n').pop()));
    });
  });
}

async function rejects(promise, type) {
  try {
    await promise;
  } catch (error) {
    assert.equal(error.type, type, `${error.type}: ${error.message}`);
    return error;
  }
  assert.fail(`expected ${type}`);
}

test('stripe-python, unchanged, runs a shop\'s flows on the sandbox, and Kassa\'s own API holds the same payments', { timeout: 240_000 }, async () => {
  const made = await pythonFlows(sandbox);
  // One set of books: what stripe-python made is what Kassa's own API shows.
  assert.equal((await kassa(sandbox, `/payments/intents/${made.succeeded}`)).status, 'captured');
  const refunded = await kassa(sandbox, `/payments/intents/${made.partly_refunded}`);
  assert.equal(refunded.status, 'refunded', 'two refunds took back all that was captured');
  assert.equal(refunded.capturedAmountCents, 1500);
  assert.equal(refunded.refundedAmountCents, 1500);
  assert.equal((await kassa(sandbox, `/payments/intents/${made.canceled}`)).status, 'canceled');
  assert.equal((await kassa(sandbox, `/payments/intents/${made.requires_action}`)).status, 'requires_action');
  const offSession = await kassa(sandbox, `/payments/intents/${made.off_session}`);
  assert.equal(offSession.customerId, made.customer);
  assert.equal(offSession.status, 'captured');
  assert.equal((await kassa(sandbox, `/customers/${made.customer}/payment-methods`)).length, 1);
});

test('stripe-python runs the same flows through the Stripe connector, and localstripe holds the charges', { timeout: 240_000 }, async () => {
  const made = await pythonFlows(connected, ['create_and_confirm', 'manual_capture_and_refunds', 'update_then_cancel', 'three_d_secure', 'customers_and_saved_cards', 'auto_paging', 'unknown_id_and_wrong_key', 'webhook']);
  const paid = await kassa(connected, `/payments/intents/${made.succeeded}`);
  assert.match(paid.providerReference, /^pi_/);
  const atStripe = await localstripe.get(`/v1/payment_intents/${paid.providerReference}`);
  assert.equal(atStripe.status, 'succeeded');
  assert.equal(atStripe.amount, 2000);
  const refunded = await kassa(connected, `/payments/intents/${made.partly_refunded}`);
  const refunds = (await localstripe.get('/v1/refunds?limit=100')).data.filter((r) => r.payment_intent === refunded.providerReference);
  assert.deepEqual(refunds.map((r) => r.amount).sort((a, b) => a - b), [500, 1000], 'both refunds reached Stripe');
  // A decline at Stripe is the client's card error, with Stripe's own reason.
  const declined = await rejects(
    // (localstripe declines this one when charged; it takes no other of Stripe's declining cards.)
    client(connected).paymentIntents.create({ amount: 1000, currency: 'usd', payment_method: 'pm_card_chargeCustomerFail', confirm: true }),
    'StripeCardError',
  );
  assert.equal(declined.code, 'card_declined');
  assert.equal(declined.payment_intent.status, 'requires_payment_method');
});

test('stripe-node, unchanged: payments, captures, refunds, declines, 3-D Secure and errors', async () => {
  const stripe = client(sandbox);
  const pi = await stripe.paymentIntents.create({ amount: 2000, currency: 'usd', payment_method: 'pm_card_visa', confirm: true, metadata: { order: '6735' } });
  assert.equal(pi.status, 'succeeded');
  assert.equal(pi.amount_received, 2000);
  assert.equal(pi.object, 'payment_intent');
  assert.equal(pi.livemode, false);
  assert.equal(typeof pi.created, 'number');
  assert.match(pi.latest_charge, /^ch_/);
  const charge = await stripe.charges.retrieve(pi.latest_charge);
  assert.equal(charge.payment_intent, pi.id);
  assert.equal(charge.paid, true);

  const manual = await stripe.paymentIntents.create({ amount: 2500, currency: 'eur', payment_method: 'pm_card_amex', confirm: true, capture_method: 'manual' });
  assert.equal(manual.status, 'requires_capture');
  const captured = await stripe.paymentIntents.capture(manual.id, { amount_to_capture: 2000 });
  assert.equal(captured.amount_received, 2000);
  const refund = await stripe.refunds.create({ payment_intent: manual.id, amount: 700 });
  assert.equal(refund.status, 'succeeded');
  const tooMuch = await rejects(stripe.refunds.create({ payment_intent: manual.id, amount: 1301 }), 'StripeInvalidRequestError');
  assert.equal(tooMuch.statusCode, 400);
  assert.equal(tooMuch.code, 'amount_too_large');
  const listed = await stripe.refunds.list({ payment_intent: manual.id });
  assert.deepEqual(listed.data.map((r) => r.id), [refund.id]);

  const declined = await rejects(
    stripe.paymentIntents.create({ amount: 1000, currency: 'usd', payment_method: 'pm_card_chargeDeclined', confirm: true }),
    'StripeCardError',
  );
  assert.equal(declined.statusCode, 402);
  assert.equal(declined.code, 'card_declined');
  assert.equal(declined.decline_code, 'generic_decline');
  assert.equal(declined.payment_intent.status, 'requires_payment_method');
  const stolen = await rejects(
    stripe.paymentIntents.create({ amount: 1000, currency: 'usd', payment_method: 'tok_chargeDeclinedStolenCard', confirm: true }),
    'StripeCardError',
  );
  assert.equal(stolen.decline_code, 'stolen_card', 'the secret key is told the real reason');

  const open = await stripe.paymentIntents.create({ amount: 1200, currency: 'usd' });
  const updated = await stripe.paymentIntents.update(open.id, { amount: 1300, metadata: { cart: '7' }, description: 'Cart 7' });
  assert.equal(updated.amount, 1300);
  assert.equal(updated.description, 'Cart 7');
  const canceled = await stripe.paymentIntents.cancel(open.id);
  assert.equal(canceled.status, 'canceled');

  const challenged = await stripe.paymentIntents.create({ amount: 3000, currency: 'usd', payment_method: 'pm_card_authenticationRequired', confirm: true });
  assert.equal(challenged.status, 'requires_action');
  assert.equal(challenged.next_action.type, 'redirect_to_url');

  const missing = await rejects(stripe.paymentIntents.retrieve('pi_missing'), 'StripeInvalidRequestError');
  assert.equal(missing.statusCode, 404);
  assert.equal(missing.code, 'resource_missing');
  await rejects(client(sandbox, 'sk_test_not_a_key').paymentIntents.list(), 'StripeAuthenticationError');
  // A publishable key may not do what only the shop's server may.
  const forbidden = await rejects(client(sandbox, sandbox.merchant.publishableKey).paymentIntents.list(), 'StripePermissionError');
  assert.equal(forbidden.statusCode, 403);
});

test('stripe-node: customers, saved cards, an off-session payment, and lists that page', async () => {
  const stripe = client(sandbox);
  const customer = await stripe.customers.create({ email: 'grace@shop.example', name: 'Grace' });
  const pm = await stripe.paymentMethods.create({ type: 'card', card: { number: '5555555555554444', exp_month: 11, exp_year: 2033, cvc: '314' } });
  assert.equal(pm.card.brand, 'mastercard');
  const attached = await stripe.paymentMethods.attach(pm.id, { customer: customer.id });
  assert.equal(attached.customer, customer.id);
  assert.deepEqual((await stripe.customers.listPaymentMethods(customer.id)).data.map((m) => m.id), [pm.id]);
  const offSession = await stripe.paymentIntents.create({
    amount: 5100, currency: 'usd', customer: customer.id, payment_method: pm.id, off_session: true, confirm: true, expand: ['latest_charge'],
  });
  assert.equal(offSession.status, 'succeeded');
  assert.equal(offSession.latest_charge.payment_method, pm.id);
  await stripe.paymentMethods.detach(pm.id);
  assert.deepEqual((await stripe.customers.listPaymentMethods(customer.id)).data, []);
  const afterDetach = await rejects(
    stripe.paymentIntents.create({ amount: 100, currency: 'usd', customer: customer.id, payment_method: pm.id, confirm: true }),
    'StripeInvalidRequestError',
  );
  assert.equal(afterDetach.statusCode, 400, 'a detached card pays no more');
  assert.equal(afterDetach.code, 'payment_method_unexpected_state');

  for (let i = 0; i < 5; i++) await stripe.paymentIntents.create({ amount: 200 + i, currency: 'usd', customer: customer.id });
  const amounts = [];
  for await (const intent of stripe.paymentIntents.list({ customer: customer.id, limit: 2 })) amounts.push(intent.amount);
  assert.deepEqual(amounts, [204, 203, 202, 201, 200, 5100]);
  const page = await stripe.paymentIntents.list({ customer: customer.id, limit: 2 });
  const back = await stripe.paymentIntents.list({ customer: customer.id, limit: 2, ending_before: page.data[1].id });
  assert.deepEqual(back.data.map((p) => p.id), [page.data[0].id], 'ending_before pages backwards');
  const created = await stripe.paymentIntents.list({ customer: customer.id, created: { gte: page.data[0].created + 3600 } });
  assert.deepEqual(created.data, [], 'created[gte] filters');
});

test('stripe-node verifies Kassa\'s webhooks with its own verifier', async () => {
  const received = [];
  const receiver = createServer((req, res) => {
    let body = '';
    req.on('data', (chunk) => (body += chunk));
    req.on('end', () => {
      received.push({ body, signature: req.headers['stripe-signature'] });
      res.end('ok');
    });
  });
  await new Promise((resolve) => receiver.listen(0, '127.0.0.1', resolve));
  const stripe = client(sandbox);
  try {
    const endpoint = await stripe.webhookEndpoints.create({
      url: `http://127.0.0.1:${receiver.address().port}/stripe`, enabled_events: ['payment_intent.succeeded', 'charge.refunded'],
    });
    assert.match(endpoint.secret, /^whsec_/);
    assert.equal((await stripe.webhookEndpoints.retrieve(endpoint.id)).secret, null, 'the secret is shown once');
    const pi = await stripe.paymentIntents.create({ amount: 1234, currency: 'usd', payment_method: 'pm_card_visa', confirm: true });
    await stripe.refunds.create({ payment_intent: pi.id });
    const deadline = Date.now() + 20_000;
    let events = [];
    while (Date.now() < deadline && events.length < 2) {
      events = received.map((r) => stripe.webhooks.constructEvent(r.body, r.signature, endpoint.secret)).filter((e) => e.data.object.id === pi.id || e.data.object.payment_intent === pi.id);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    assert.deepEqual(events.map((e) => e.type), ['payment_intent.succeeded', 'charge.refunded']);
    assert.equal(events[0].object, 'event');
    assert.equal(events[0].data.object.object, 'payment_intent');
    assert.equal(events[1].data.object.amount_refunded, 1234);
    assert.throws(() => stripe.webhooks.constructEvent(received[0].body, received[0].signature, 'whsec_someone_else'));
    const listed = await stripe.events.list({ type: 'charge.refunded', limit: 1 });
    assert.equal(listed.data[0].data.object.payment_intent, pi.id);
    await stripe.webhookEndpoints.del(endpoint.id);
    assert.deepEqual((await stripe.webhookEndpoints.list()).data, []);
  } finally {
    receiver.close();
  }
});

/** A proxy to `target` that loses the reply to the first request matching `cut`. */
async function lossyProxy(target, cut) {
  const { hostname, port } = new URL(target);
  let lost = 0;
  const sockets = new Set();
  const server = createTcpServer((downstream) => {
    const upstream = connect(Number(port), hostname);
    sockets.add(downstream).add(upstream);
    let cutting = false;
    downstream.on('data', (chunk) => {
      if (lost === 0 && chunk.toString('latin1').startsWith(cut)) {
        cutting = true;
        lost += 1;
      }
      upstream.write(chunk);
    });
    upstream.on('data', (chunk) => {
      if (cutting) {
        // The server answered (and committed); the client never hears it.
        downstream.destroy();
        upstream.destroy();
      } else {
        downstream.write(chunk);
      }
    });
    for (const [a, b] of [[downstream, upstream], [upstream, downstream]]) {
      a.on('error', () => b.destroy());
      a.on('close', () => b.destroy());
    }
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const close = () => {
    // The client keeps its connections open for more requests: they end with the proxy.
    for (const socket of sockets) socket.destroy();
    return new Promise((resolve) => server.close(resolve));
  };
  return { url: `http://127.0.0.1:${server.address().port}`, lost: () => lost, close };
}

test('a reply lost after the payment was made: the client\'s own retry is answered by a replay, and Stripe saw one charge', async () => {
  const proxy = await lossyProxy(connected.url, 'POST /v1/payment_intents ');
  try {
    const stripe = client({ url: proxy.url, merchant: connected.merchant }, connected.merchant.secretKey, { maxNetworkRetries: 2 });
    const amount = 4321;
    const pi = await stripe.paymentIntents.create({ amount, currency: 'usd', payment_method: 'pm_card_visa', confirm: true });
    assert.equal(proxy.lost(), 1, 'the first reply was lost');
    assert.equal(pi.status, 'succeeded');
    assert.equal(pi.lastResponse.headers['idempotent-replayed'], 'true', 'the retry was a replay');
    const atStripe = (await localstripe.get('/v1/payment_intents?limit=100')).data.filter((p) => p.amount === amount);
    assert.equal(atStripe.length, 1, 'one PaymentIntent at Stripe');
    assert.equal(atStripe[0].status, 'succeeded');
    const ours = (await kassa(connected, '/payments/transactions?limit=100')).filter((p) => p.amountCents === amount);
    assert.equal(ours.length, 1, 'one payment in Kassa');
  } finally {
    await proxy.close();
  }
});

test('the same key retried with another body is an idempotency error, and one request under one key runs once', async () => {
  const stripe = client(sandbox);
  const key = `order-${Date.now()}`;
  const first = await stripe.paymentIntents.create({ amount: 777, currency: 'usd', payment_method: 'pm_card_visa', confirm: true }, { idempotencyKey: key });
  const again = await stripe.paymentIntents.create({ amount: 777, currency: 'usd', payment_method: 'pm_card_visa', confirm: true }, { idempotencyKey: key });
  assert.equal(again.id, first.id);
  assert.equal(again.lastResponse.headers['idempotent-replayed'], 'true');
  const other = await rejects(stripe.paymentIntents.create({ amount: 778, currency: 'usd' }, { idempotencyKey: key }), 'StripeIdempotencyError');
  assert.equal(other.statusCode, 400);
  const paid = (await kassa(sandbox, '/payments/transactions?limit=100')).filter((p) => p.amountCents === 777);
  assert.equal(paid.length, 1);
});

test('one set of books: Kassa\'s intents in Stripe\'s API, and a Stripe-made intent paid in Kassa\'s checkout from another origin', { timeout: 120_000 }, async () => {
  const stripe = client(sandbox);
  const response = await fetch(`${sandbox.url}/api/v1/payments/intents`, {
    method: 'POST',
    headers: { authorization: `Bearer ${sandbox.merchant.secretKey}`, 'content-type': 'application/json' },
    body: JSON.stringify({ amountCents: 1850, currency: 'EUR', reference: 'A-1001' }),
  });
  const ours = (await response.json()).data;
  const seen = await stripe.paymentIntents.retrieve(ours.id);
  assert.equal(seen.amount, 1850);
  assert.equal(seen.currency, 'eur');
  assert.equal(seen.description, 'A-1001');
  assert.equal(seen.status, 'requires_payment_method');

  const pi = await stripe.paymentIntents.create({ amount: 2650, currency: 'eur' });
  const browser = await launchBrowser();
  const shop = await startEmbeddingShop(sandbox);
  try {
    assert.notEqual(new URL(shop.url).origin, new URL(sandbox.url).origin);
    const page = await browser.newPage();
    await page.goto(`${shop.url}/?clientSecret=${encodeURIComponent(pi.client_secret)}`);
    const frame = page.frameLocator('iframe[title="Secure payment form"]');
    await fillCard(frame, '4242 4242 4242 4242');
    await frame.getByRole('button', { name: /^Pay/ }).click();
    await frame.getByRole('heading', { name: 'Payment complete' }).waitFor();
    await page.screenshot({ path: join(screenshots, 'stripe-face-checkout-paid.png') });
  } finally {
    await browser.close();
    await shop.close();
  }
  const paid = await stripe.paymentIntents.retrieve(pi.id, { expand: ['latest_charge'] });
  assert.equal(paid.status, 'succeeded');
  assert.equal(paid.amount_received, 2650);
  assert.equal(paid.latest_charge.payment_method_details.card.last4, '4242');
});
