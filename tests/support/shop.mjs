// Drives the demo shop and its checkout in Chromium, as a shopper would.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { startStatic } from './static.mjs';
import { installPackedPackage } from './package.mjs';

const EMBEDDING_PAGE = `<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><title>Another shop</title></head>
<body>
<h1>Checkout</h1>
<div id="checkout"></div>
<script type="module">
  import { loadKassa } from '/node_modules/kassa/js/index.js';
  const { pk, api } = document.body.dataset;
  const clientSecret = new URLSearchParams(location.search).get('clientSecret');
  const kassa = await loadKassa(pk, { apiBase: api });
  const checkout = kassa.mountCheckout('#checkout', { clientSecret });
  checkout.on('success', ({ paymentIntent }) => { document.body.dataset.paid = paymentIntent.status; });
  checkout.on('error', ({ error }) => { document.body.dataset.error = error.code; });
</script>
</body>
</html>`;

/**
 * A shop on another origin (localhost, while Kassa is on 127.0.0.1) that installed the packed npm
 * tarball and mounts the checkout of `server`'s merchant for the `?clientSecret=` of its address.
 */
export async function startEmbeddingShop(server) {
  const installed = installPackedPackage();
  const page = EMBEDDING_PAGE.replace('<body>', `<body data-pk="${server.merchant.publishableKey}" data-api="${server.url}">`);
  return startStatic({ '/': { body: page }, '/node_modules/': { dir: join(installed.dir, 'node_modules') } });
}

/** Puts items in the cart and opens the payment page with the checkout mounted. */
export async function openCheckout(page, server, { items = { mug: 1, tee: 1 }, email = '', locale, theme } = {}) {
  await page.goto(`${server.shopUrl}/`);
  await page.evaluate((items) => localStorage.setItem('kassa-demo-cart', JSON.stringify(items)), items);
  await page.goto(`${server.shopUrl}/pay.html`);
  if (email) await page.getByLabel('Email (to remember your card)').fill(email);
  if (locale) await page.selectOption('#locale', locale);
  if (theme) await page.selectOption('#theme', theme);
  await page.getByRole('button', { name: 'Continue to payment' }).click();
  const frame = page.frameLocator('#checkout iframe');
  await frame.locator('#pay').waitFor();
  return frame;
}

export async function fillCard(frame, number, { expiry = '12 / 34', cvc = '123' } = {}) {
  await frame.getByLabel(/Card number|Kartennummer/).fill(number);
  await frame.getByLabel(/Expiry|Gültig bis/).fill(expiry);
  await frame.getByLabel(/Security code|Prüfnummer/).fill(cvc);
}

/** The shop's view of the payment the checkout made. */
export async function shopPayment(page, server) {
  const id = await page.locator('#order-status').getAttribute('data-intent');
  assert.match(id ?? '', /^pi_/);
  return (await fetch(`${server.shopUrl}/demo/api/payments/${id}`)).json();
}

export async function paymentFor(server, intentId) {
  return (await fetch(`${server.shopUrl}/demo/api/payments/${intentId}`)).json();
}

/** The amount, in cents, of the demo catalog's items. */
export async function cartTotal(server, items) {
  const { catalog } = await (await fetch(`${server.shopUrl}/demo/api/config`)).json();
  return Object.entries(items).reduce((sum, [sku, q]) => sum + catalog.find((p) => p.sku === sku).unitAmountCents * q, 0);
}
