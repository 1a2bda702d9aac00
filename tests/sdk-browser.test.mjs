// The npm package on a shop's page (another origin than Kassa's), in real Chromium: the 3-D Secure
// modal, its keyboard behaviour, and the retried WebAssembly download.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { startServer, root } from './support/server.mjs';
import { startStatic } from './support/static.mjs';
import { launchBrowser, screenshots } from './support/browser.mjs';

let server;
let browser;
let shop;
let wasmFailures = 0;
let wasmRequests = 0;

const SHOP_PAGE = `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Shop</title><link rel="icon" href="data:,"></head>
<body><main><h1>Checkout</h1><button id="pay" type="button">Pay</button><button id="other" type="button">Other</button></main>
<script type="module">
  import { loadKassa } from '/kassa/index.js';
  window.kassaReady = loadKassa(document.body.dataset.pk, { apiBase: document.body.dataset.api }).then((k) => (window.kassa = k));
</script></body></html>`;

async function shopPage({ failWasm = 0 } = {}) {
  wasmFailures = failWasm;
  wasmRequests = 0;
  const context = await browser.newContext();
  const page = await context.newPage();
  await page.goto(`${shop.url}/`);
  await page.evaluate(() => window.kassaReady);
  return { page, context, wasmRequests: () => wasmRequests };
}

async function clientSecret(amountCents) {
  const response = await fetch(`${server.url}/api/v1/payments/intents`, {
    method: 'POST',
    headers: { Authorization: `Bearer ${server.merchant.secretKey}`, 'Content-Type': 'application/json' },
    body: JSON.stringify({ amountCents, currency: 'EUR' }),
  });
  return (await response.json()).data.clientSecret;
}

/** Starts a confirmation with the Pay button focused, as a click on it would. */
async function startConfirm(page, secret, number) {
  await page.focus('#pay');
  await page.evaluate(([secret, number]) => {
    window.outcome = window.kassa.confirmPayment(secret, { card: { number, expMonth: 12, expYear: 2034, cvc: '123' } });
  }, [secret, number]);
  await page.getByRole('dialog').waitFor();
  await page.frameLocator('iframe[title^="3-D Secure"]').getByLabel('One-time code').waitFor();
}

/** The confirmation's outcome, failing rather than hanging when there is none. */
function outcome(page) {
  return page.evaluate(() => Promise.race([window.outcome, new Promise((_, reject) => setTimeout(() => reject(new Error('no outcome')), 10_000))]));
}

before(async () => {
  server = await startServer();
  browser = await launchBrowser();
  // The shop is another origin than Kassa's (another port on this machine).
  const page = SHOP_PAGE.replace('<body>', `<body data-pk="${server.merchant.publishableKey}" data-api="${server.url}">`);
  shop = await startStatic({ '/': { body: page }, '/kassa/': { dir: join(root, 'js') } }, (path) => {
    if (!path.endsWith('.wasm')) return null;
    wasmRequests += 1;
    return wasmRequests <= wasmFailures ? { status: 503, body: 'busy' } : null;
  });
});

after(async () => {
  await browser?.close();
  await shop?.close();
  await server?.stop();
});

test('a failed WebAssembly download is retried', async () => {
  const { page, context, wasmRequests } = await shopPage({ failWasm: 2 });
  assert.equal(wasmRequests(), 0, 'loadKassa alone downloads no WebAssembly');
  await page.evaluate(() => window.kassa.ready());
  assert.equal(wasmRequests(), 3);
  assert.equal(await page.evaluate(() => window.kassa.cardBrand('4242')), 'visa');
  await context.close();
});

test('the 3-D Secure modal traps focus, passes with the bank code and gives focus back', async () => {
  const { page, context } = await shopPage();
  await startConfirm(page, await clientSecret(4200), '4000002760003184');
  const dialog = page.getByRole('dialog', { name: 'Confirm this payment with your bank' });
  assert.equal(await dialog.getAttribute('aria-modal'), 'true');
  assert.equal(await page.evaluate(() => document.activeElement.tagName), 'IFRAME');
  // Focus cannot leave the dialog for the page behind it.
  await page.getByRole('button', { name: 'Cancel the bank check' }).focus();
  await page.keyboard.press('Tab');
  assert.equal(await page.evaluate(() => document.activeElement.tagName), 'IFRAME');
  await page.evaluate(() => document.getElementById('other').focus());
  assert.equal(await page.evaluate(() => document.activeElement.getAttribute('aria-label')), 'Cancel the bank check');

  const bank = page.frameLocator('iframe[title^="3-D Secure"]');
  await bank.getByLabel('One-time code').fill('123456');
  await page.screenshot({ path: join(screenshots, 'sdk-three-ds-modal.png') });
  await bank.getByRole('button', { name: 'Verify' }).click();
  const { paymentIntent, error } = await outcome(page);
  assert.equal(error, undefined);
  assert.equal(paymentIntent.status, 'captured');
  assert.equal(await page.getByRole('dialog').count(), 0);
  assert.equal(await page.evaluate(() => document.activeElement.id), 'pay');
  await context.close();
});

test('Escape cancels the challenge and a wrong code declines it', async () => {
  const { page, context } = await shopPage();
  const secret = await clientSecret(4200);
  await startConfirm(page, secret, '4000000000003220');
  await page.keyboard.press('Escape');
  const cancelled = await outcome(page);
  assert.equal(cancelled.error.code, 'AUTHENTICATION_CANCELLED');
  assert.equal(await page.getByRole('dialog').count(), 0);
  assert.equal(await page.evaluate(() => document.activeElement.id), 'pay');

  // The intent still waits; handleNextAction opens the bank page again.
  await page.evaluate((secret) => { window.outcome = window.kassa.handleNextAction(secret); }, secret);
  const bank = page.frameLocator('iframe[title^="3-D Secure"]');
  await bank.getByLabel('One-time code').waitFor();
  await bank.getByLabel('One-time code').fill('000000');
  await bank.getByRole('button', { name: 'Verify' }).click();
  const failed = await outcome(page);
  assert.equal(failed.error.type, 'card_error');
  assert.equal(failed.error.declineCode, 'authentication_failed');
  await context.close();
});
