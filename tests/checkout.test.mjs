// The checkout app, built by Trunk and served by kassa-server, rendered in real Chromium.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { startServer } from './support/server.mjs';
import { launchBrowser, screenshots } from './support/browser.mjs';

let server;
let browser;

before(async () => {
  server = await startServer();
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  await server?.stop();
});

test('the checkout renders from WebAssembly without errors', async () => {
  const page = await browser.newPage();
  const problems = [];
  page.on('pageerror', (error) => problems.push(error.message));
  page.on('console', (message) => message.type() === 'error' && problems.push(message.text()));
  const response = await page.goto(`${server.url}/checkout/`);
  assert.equal(response.status(), 200);
  const heading = page.getByRole('heading', { level: 1 });
  await heading.waitFor({ timeout: 15_000 });
  assert.equal(await heading.textContent(), 'Kassa checkout');
  // The heading is rendered by the wasm app, not present in the served HTML.
  const served = await (await fetch(`${server.url}/checkout/`)).text();
  assert.ok(!served.includes('Kassa checkout</h1>'));
  assert.match(served, /\.wasm/);
  await page.screenshot({ path: join(screenshots, 'checkout-placeholder.png'), fullPage: true });
  assert.deepEqual(problems, []);
  await page.close();
});

test('the server answers the browser in Kassa error format', async () => {
  const missing = await fetch(`${server.url}/api/v1/payments/transactions`);
  assert.equal(missing.status, 401);
  assert.equal((await missing.json()).error.code, 'UNAUTHENTICATED');
  const page = await browser.newPage();
  await page.goto(`${server.url}/`);
  assert.match(await page.title(), /Kassa/);
  await page.screenshot({ path: join(screenshots, 'home.png'), fullPage: true });
  await page.close();
});
