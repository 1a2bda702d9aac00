// The checkout embedded where shops embed it: a page on another origin (localhost, while Kassa is
// on 127.0.0.1) that installed the packed npm tarball and mounts the checkout with it.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { brotliCompressSync, constants } from 'node:zlib';
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
  const kassaFiles = [];
  page.on('response', async (response) => {
    if (new URL(response.url()).pathname.startsWith('/node_modules/kassa/')) kassaFiles.push({ url: response.url(), body: response.body() });
  });
  const refused = [];
  page.on('console', (message) => { if (/frame-ancestors|refused to connect/i.test(message.text())) refused.push(message.text()); });
  await page.goto(`${shop.url}/?clientSecret=${encodeURIComponent(await clientSecret(4200))}`);
  const frame = page.frameLocator('iframe[title="Secure payment form"]');
  await frame.getByLabel('Card number').waitFor();
  // Mounting the checkout downloads the loader alone: no WebAssembly, no glue, no modal.
  const names = kassaFiles.map((f) => new URL(f.url).pathname.split('/').pop());
  assert.deepEqual(names, ['index.js']);
  const bodies = await Promise.all(kassaFiles.map((f) => f.body));
  const brotli = bodies.reduce((sum, body) => sum + brotliCompressSync(body, { params: { [constants.BROTLI_PARAM_QUALITY]: 11 } }).length, 0);
  assert.ok(brotli <= 5 * 1024, `the page downloaded ${brotli} bytes of Kassa, brotli`);
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
