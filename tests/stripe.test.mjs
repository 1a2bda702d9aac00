// The checkout of a merchant whose payments go to Stripe (played by localstripe), embedded by a
// shop on another origin from the packed npm tarball: neither the checkout nor the npm package knows which processor is
// behind Kassa.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { startServer } from './support/server.mjs';
import { startLocalstripe, SECRET_KEY } from './support/localstripe.mjs';
import { launchBrowser, screenshots } from './support/browser.mjs';
import { fillCard, startEmbeddingShop } from './support/shop.mjs';

let stripe;
let server;
let browser;
let shop;

before(async () => {
  stripe = await startLocalstripe();
  server = await startServer({
    merchantArgs: ['--processor', 'stripe', '--processor-secret', SECRET_KEY],
    serveArgs: ['--stripe-api-base', stripe.url],
  });
  browser = await launchBrowser();
  shop = await startEmbeddingShop(server);
  assert.notEqual(new URL(shop.url).origin, new URL(server.url).origin, 'the shop is on another origin');
});

after(async () => {
  await browser?.close();
  await shop?.close();
  await server?.stop();
  await stripe?.stop();
});

async function intent(amountCents) {
  const response = await fetch(`${server.url}/api/v1/payments/intents`, {
    method: 'POST',
    headers: { authorization: `Bearer ${server.merchant.secretKey}`, 'content-type': 'application/json' },
    body: JSON.stringify({ amountCents, currency: 'EUR' }),
  });
  assert.equal(response.status, 201);
  return (await response.json()).data;
}

async function payment(id) {
  const response = await fetch(`${server.url}/api/v1/payments/transactions/${id}`, { headers: { authorization: `Bearer ${server.merchant.secretKey}` } });
  return (await response.json()).data.intent;
}

// Pays with `number` in the embedded checkout. `bank` answers Stripe's 3-D Secure page, which
// Kassa's challenge window shows: 'complete', or 'fail' and then pay with `thenNumber`.
async function pay(number, amountCents, { bank, thenNumber } = {}) {
  const created = await intent(amountCents);
  const context = await browser.newContext({ viewport: { width: 900, height: 900 } });
  const page = await context.newPage();
  const problems = [];
  page.on('pageerror', (error) => problems.push(error.message));
  await page.goto(`${shop.url}/?clientSecret=${encodeURIComponent(created.clientSecret)}`);
  const frame = page.frameLocator('iframe[title="Secure payment form"]');
  await fillCard(frame, number);
  await frame.getByRole('button', { name: /^Pay/ }).click();
  if (bank) {
    await frame.getByRole('dialog', { name: 'Confirm this payment with your bank' }).waitFor();
    const stripePage = frame.frameLocator('#challenge-frame');
    await stripePage.getByRole('heading', { name: '3D Secure 2 test page' }).waitFor();
    await page.screenshot({ path: join(screenshots, `stripe-checkout-three-ds-page.png`) });
    await stripePage.getByRole('button', { name: bank === 'complete' ? 'Complete authentication' : 'Fail authentication' }).click();
  }
  if (thenNumber) {
    await frame.getByRole('alert').getByText('Your bank did not confirm the payment').waitFor();
    assert.equal(await frame.getByRole('dialog').count(), 0, 'the challenge window closed');
    await page.screenshot({ path: join(screenshots, 'stripe-checkout-three-ds-failed.png') });
    await fillCard(frame, thenNumber);
    await frame.getByRole('button', { name: /^Pay/ }).click();
  }
  await frame.getByRole('heading', { name: 'Payment complete' }).waitFor();
  await page.locator('body[data-paid="captured"]').waitFor();
  await page.screenshot({ path: join(screenshots, `stripe-checkout-${bank ? `three-ds-${bank}` : 'paid'}.png`) });
  assert.deepEqual(problems, []);
  await context.close();
  return created.id;
}

test('the checkout pays an intent of a Stripe-connected merchant, and Stripe holds the charge', async () => {
  const id = await pay('4242 4242 4242 4242', 2750);
  const paid = await payment(id);
  assert.equal(paid.status, 'captured');
  assert.match(paid.providerReference, /^pi_/);
  const pi = await stripe.get(`/v1/payment_intents/${paid.providerReference}`);
  assert.equal(pi.status, 'succeeded');
  assert.equal(pi.amount, 2750);
  assert.equal(pi.currency, 'eur');
});

test('3-D Secure with a Stripe-connected merchant runs on Stripe\'s page inside the same challenge window', async () => {
  const id = await pay('4000 0027 6000 3184', 3100, { bank: 'complete' });
  const paid = await payment(id);
  assert.equal(paid.status, 'captured');
  const pi = await stripe.get(`/v1/payment_intents/${paid.providerReference}`);
  assert.equal(pi.status, 'succeeded');
  assert.equal(pi.next_action, null);
});

test('a failed 3-D Secure at Stripe lets the shopper pay with another card', async () => {
  const id = await pay('4000 0000 0000 3220', 1900, { bank: 'fail', thenNumber: '4242 4242 4242 4242' });
  const paid = await payment(id);
  assert.equal(paid.status, 'captured');
  const failed = (await stripe.get('/v1/payment_intents?limit=100')).data.filter((pi) => pi.metadata.kassa_payment === id);
  assert.equal(failed.length, 2, 'one PaymentIntent per attempt');
  assert.deepEqual(failed.map((pi) => pi.status).sort(), ['requires_payment_method', 'succeeded']);
});
