// The checkout embedded where shops embed it: a page on another origin (localhost, while Kassa is
// on 127.0.0.1) that installed the packed npm tarball and mounts the checkout with it.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { startServer } from './support/server.mjs';
import { launchBrowser, screenshots } from './support/browser.mjs';
import { fillCard, startEmbeddingShop } from './support/shop.mjs';

let server;
let browser;
let shop;

before(async () => {
  server = await startServer();
  browser = await launchBrowser();
  shop = await startEmbeddingShop(server);
  assert.notEqual(new URL(shop.url).origin, new URL(server.url).origin, 'the shop is on another origin');
});

after(async () => {
  await browser?.close();
  await shop?.close();
  await server?.stop();
});

async function clientSecret(amountCents) {
  const response = await fetch(`${server.url}/api/v1/payments/intents`, {
    method: 'POST',
    headers: { authorization: `Bearer ${server.merchant.secretKey}`, 'content-type': 'application/json' },
    body: JSON.stringify({ amountCents, currency: 'EUR' }),
  });
  assert.equal(response.status, 201);
  return (await response.json()).data.clientSecret;
}

test('a shop on another origin mounts the checkout from the packed tarball and passes 3-D Secure', async () => {
  const context = await browser.newContext({ viewport: { width: 900, height: 900 } });
  const page = await context.newPage();
  const problems = [];
  page.on('pageerror', (error) => problems.push(error.message));
  const refused = [];
  page.on('console', (message) => { if (/frame-ancestors|refused to connect/i.test(message.text())) refused.push(message.text()); });
  await page.goto(`${shop.url}/?clientSecret=${encodeURIComponent(await clientSecret(4200))}`);
  const frame = page.frameLocator('iframe[title="Secure payment form"]');
  await fillCard(frame, '4000 0027 6000 3184');
  await frame.getByRole('button', { name: /^Pay/ }).click();
  await frame.getByRole('dialog', { name: 'Confirm this payment with your bank' }).waitFor();
  const bank = frame.frameLocator('#challenge-frame');
  await bank.getByLabel('One-time code').fill('123456');
  await page.screenshot({ path: join(screenshots, 'embedded-other-origin-three-ds.png') });
  await bank.getByRole('button', { name: 'Verify' }).click();
  await frame.getByRole('heading', { name: 'Payment complete' }).waitFor();
  await page.locator('body[data-paid="captured"]').waitFor();
  await page.screenshot({ path: join(screenshots, 'embedded-other-origin-paid.png') });
  assert.deepEqual(refused, []);
  assert.deepEqual(problems, []);
  await context.close();
});
