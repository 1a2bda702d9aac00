// The npm package, packed and installed into a fresh folder, used from Node against a live server.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { startServer } from './support/server.mjs';
import { importPacked } from './support/package.mjs';

let server;
let pkg;
let kassa;

async function api(method, path, body) {
  const response = await fetch(`${server.url}${path}`, {
    method,
    headers: { Authorization: `Bearer ${server.merchant.secretKey}`, 'Content-Type': 'application/json' },
    body: body && JSON.stringify(body),
  });
  return { status: response.status, body: await response.json() };
}

async function clientSecret(amountCents, extra = {}) {
  const { status, body } = await api('POST', '/api/v1/payments/intents', { amountCents, currency: 'USD', ...extra });
  assert.equal(status, 201);
  return body.data.clientSecret;
}

const card = (number, extra = {}) => ({ number, expMonth: 12, expYear: 2034, cvc: '123', ...extra });

before(async () => {
  server = await startServer();
  pkg = await importPacked();
  kassa = await pkg.kassa.loadKassa(server.merchant.publishableKey, { apiBase: server.url });
});

after(async () => {
  await server?.stop();
});

test('loadKassa downloads no WebAssembly: the synchronous helpers say so until ready(), and any call loads it', async () => {
  assert.throws(() => pkg.kassa.cardBrand('4242'), { code: 'not_ready' });
  assert.throws(() => kassa.formatAmount(100, 'USD', 'en-US'), { code: 'not_ready' });
  const { paymentIntent } = await kassa.retrievePaymentIntent(await clientSecret(1500));
  assert.equal(paymentIntent.amountCents, 1500);
  assert.equal(kassa.cardBrand('4242'), 'visa');
  await kassa.ready();
});

test('the tarball holds the README, the loader, its types and the WebAssembly core, and nothing else', () => {
  assert.deepEqual(
    [...pkg.files].sort(),
    ['README.md', 'js/challenge.js', 'js/contract.d.ts', 'js/index.d.ts', 'js/index.js', 'js/wasm/kassa.js', 'js/wasm/kassa_bg.wasm', 'package.json'].sort(),
  );
});

test('importing needs no DOM and loading needs a publishable key', async () => {
  assert.equal(typeof window, 'undefined');
  await assert.rejects(pkg.kassa.loadKassa(server.merchant.secretKey, { apiBase: server.url }), { code: 'invalid_key' });
  await assert.rejects(pkg.kassa.loadKassa(server.merchant.publishableKey), { code: 'missing_api_base' });
});

test('confirm with 4242 captures the payment', async () => {
  const secret = await clientSecret(2698);
  const { paymentIntent, error } = await kassa.confirmPayment(secret, { card: card('4242 4242 4242 4242') });
  assert.equal(error, undefined);
  assert.equal(paymentIntent.status, 'captured');
  assert.equal(paymentIntent.capturedAmountCents, 2698);
  assert.equal(paymentIntent.cardBrand, 'visa');
  const again = await kassa.retrievePaymentIntent(secret);
  assert.equal(again.paymentIntent.id, paymentIntent.id);
});

test('a decline is a card_error with its decline code, and another card then pays', async () => {
  const secret = await clientSecret(1500);
  const { paymentIntent, error } = await kassa.confirmPayment(secret, { card: card('4000000000009995') });
  assert.equal(paymentIntent, undefined);
  assert.equal(error.type, 'card_error');
  assert.equal(error.code, 'CARD_DECLINED');
  assert.equal(error.declineCode, 'insufficient_funds');
  assert.equal(error.status, 402);
  assert.match(error.paymentIntentId, /^pi_/);
  assert.match(error.message, /insufficient funds/);
  const retried = await kassa.confirmPayment(secret, { card: card('5555555555554444') });
  assert.equal(retried.paymentIntent.status, 'captured');
});

test('bad input is a validation_error naming the field, before any request', async () => {
  const secret = await clientSecret(1500);
  const { error } = await kassa.confirmPayment(secret, { card: card('4242424242424241') });
  assert.equal(error.type, 'validation_error');
  assert.equal(error.param, 'card.number');
  assert.equal(error.status, undefined, 'no request was made');
  const wrongSecret = await kassa.retrievePaymentIntent(`${secret.split('_secret_')[0]}_secret_nope`);
  assert.equal(wrongSecret.error.type, 'invalid_request_error');
  assert.equal(wrongSecret.error.code, 'NOT_FOUND');
});

test('a network that loses the answers twice still makes exactly one payment, under one idempotency key', async () => {
  const secret = await clientSecret(3100);
  const realFetch = globalThis.fetch;
  const confirms = [];
  let lose = 2;
  globalThis.fetch = async (url, init) => {
    const response = await realFetch(url, init);
    if (String(url).endsWith('/confirm')) {
      confirms.push(init.headers['idempotency-key']);
      // Kassa handled the request, but the answer never arrives.
      if (lose-- > 0) throw new TypeError('fetch failed');
    }
    return response;
  };
  let result;
  try {
    result = await kassa.confirmPayment(secret, { card: card('4242424242424242') });
  } finally {
    globalThis.fetch = realFetch;
  }
  assert.equal(result.paymentIntent?.status, 'captured', JSON.stringify(result));
  assert.equal(confirms.length, 3);
  assert.match(confirms[0], /^[0-9a-f]{32}$/);
  assert.deepEqual(new Set(confirms), new Set([confirms[0]]));
  const history = await api('GET', `/api/v1/payments/transactions/${result.paymentIntent.id}`);
  assert.equal(history.body.data.transactions.filter((t) => t.type === 'authorize').length, 1);
  // The next payment gets a key of its own.
  const another = await kassa.createPaymentMethod({ card: card('4242424242424242') });
  assert.match(another.paymentMethod.id, /^tok_/);
});

test('parameters are read as given: an unknown or mistyped one is a validation_error naming it, before any request', async () => {
  const secret = await clientSecret(1500);
  const unknown = await kassa.confirmPayment(secret, { paymentMethodID: 'pm_1' });
  assert.deepEqual([unknown.error.type, unknown.error.param, unknown.error.status], ['validation_error', 'paymentMethodID', undefined]);
  const mistyped = await kassa.confirmPayment(secret, { card: { ...card('4242424242424242'), expMonth: '12' } });
  assert.equal(mistyped.error.param, 'card.expMonth');
  assert.equal((await kassa.confirmPayment(secret, null)).error.param, 'params');
  assert.equal((await kassa.createPaymentMethod({})).error.param, 'card');
  const { paymentIntent } = await kassa.retrievePaymentIntent(secret);
  assert.equal(paymentIntent.status, 'requires_payment_method', 'nothing was attempted');
});

test('without a screen, a 3-D Secure card resolves with requires_action and handleNextAction picks it up', async () => {
  const secret = await clientSecret(4000);
  const { paymentIntent } = await kassa.confirmPayment(secret, { card: card('4000002760003184') });
  assert.equal(paymentIntent.status, 'requires_action');
  assert.equal(paymentIntent.nextAction.type, 'three_ds_challenge');
  // The cardholder answers the bank's page elsewhere.
  const url = new URL(paymentIntent.nextAction.url);
  const form = new URLSearchParams({ session: url.searchParams.get('session'), code: '123456', action: 'verify' });
  const answered = await fetch(`${server.url}${url.pathname}`, { method: 'POST', body: form });
  assert.equal(answered.status, 200);
  const after = await kassa.handleNextAction(secret);
  assert.equal(after.paymentIntent.status, 'captured');
});

test('a saved card is listed, paid with and deleted with a customer session', async () => {
  const customer = (await api('POST', '/api/v1/customers', { name: 'Jo' })).body.data.id;
  const session = (await api('POST', `/api/v1/customers/${customer}/sessions`)).body.data.secret;
  // Saving a card, and paying with a saved one, needs the customer's session.
  const unsaved = await kassa.confirmPayment(await clientSecret(1200, { customerId: customer }), { card: card('4242424242424242'), saveCard: true });
  assert.equal(unsaved.error.code, 'FORBIDDEN');
  const first = await kassa.confirmPayment(await clientSecret(1200, { customerId: customer }), { card: card('4242424242424242'), saveCard: true, customerSession: session });
  assert.equal(first.paymentIntent.status, 'captured');
  const { paymentMethods } = await kassa.listPaymentMethods({ customerSession: session });
  assert.equal(paymentMethods.length, 1);
  assert.equal(paymentMethods[0].card.last4, '4242');
  const second = await kassa.confirmPayment(await clientSecret(800, { customerId: customer }), { paymentMethodId: paymentMethods[0].id, customerSession: session });
  assert.equal(second.paymentIntent.status, 'captured');
  assert.deepEqual(await kassa.detachPaymentMethod(paymentMethods[0].id, { customerSession: session }), { deleted: true });
  assert.deepEqual((await kassa.listPaymentMethods({ customerSession: session })).paymentMethods, []);
  const { paymentMethod } = await kassa.createPaymentMethod({ card: card('378282246310005', { cvc: '1234' }) });
  assert.match(paymentMethod.id, /^tok_/);
  assert.equal(paymentMethod.card.brand, 'amex');
});

test('formatAmount uses each currency’s decimals and the locale', () => {
  const { formatAmount } = pkg.kassa;
  assert.equal(formatAmount(2698, 'USD', 'en-US'), '$26.98');
  assert.equal(formatAmount(123456, 'EUR', 'de-DE'), '1.234,56\u00a0€');
  assert.equal(formatAmount(1500, 'JPY', 'ja-JP'), '￥1,500');
  assert.equal(formatAmount(1234, 'KWD', 'en-US'), 'KWD\u00a01.234');
  assert.throws(() => formatAmount(10.5, 'USD', 'en-US'), { code: 'invalid_amount' });
  assert.throws(() => formatAmount(100, 'XYZ', 'en-US'), { code: 'invalid_currency' });
});

test('money and card helpers', () => {
  const { toMinorUnits, validateCardNumber, cardBrand } = pkg.kassa;
  assert.equal(toMinorUnits('26.98', 'USD'), 2698);
  assert.equal(toMinorUnits('1.234', 'KWD'), 1234);
  assert.throws(() => toMinorUnits('1.5', 'JPY'), { code: 'invalid_amount' });
  assert.throws(() => toMinorUnits('26.987', 'USD'), /at most 2 decimal places/);
  assert.equal(validateCardNumber('4242 4242 4242 4242'), true);
  assert.equal(validateCardNumber('4242 4242 4242 4241'), false);
  assert.equal(cardBrand('37'), 'amex');
  assert.equal(cardBrand('2223 00'), 'mastercard');
  assert.equal(cardBrand(''), 'unknown');
});

test('webhook signatures: a good one passes, a wrong secret and a stale timestamp do not', () => {
  const { verifyWebhookSignature } = pkg.kassa;
  const body = JSON.stringify({ id: 'evt_1', type: 'payment_intent.succeeded' });
  const now = Math.floor(Date.now() / 1000);
  const sign = (secret, t) => `t=${t},v1=${createHmac('sha256', secret).update(`${t}.${body}`).digest('hex')}`;
  assert.equal(verifyWebhookSignature(body, sign('whsec_right', now), 'whsec_right'), true);
  assert.equal(verifyWebhookSignature(new TextEncoder().encode(body), sign('whsec_right', now), 'whsec_right'), true);
  assert.throws(() => verifyWebhookSignature(body, sign('whsec_wrong', now), 'whsec_right'), { code: 'signature_mismatch' });
  assert.throws(() => verifyWebhookSignature(body, sign('whsec_right', now - 301), 'whsec_right'), { code: 'timestamp_outside_tolerance' });
  assert.throws(() => verifyWebhookSignature(`${body} `, sign('whsec_right', now), 'whsec_right'), { code: 'signature_mismatch' });
  assert.throws(() => verifyWebhookSignature(body, 'nonsense', 'whsec_right'), { code: 'malformed_header' });
});
