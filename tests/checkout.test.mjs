// The checkout as a shopper meets it: the demo shop, the npm package's mountCheckout, the Leptos
// app in its iframe, 3-D Secure and kiosk mode, in real Chromium.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer } from './support/server.mjs';
import { launchBrowser, screenshot, axe } from './support/browser.mjs';
import { openCheckout, fillCard, shopPayment, cartTotal } from './support/shop.mjs';

let server;
let browser;

before(async () => {
  server = await startServer({ shop: true });
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  await server?.stop();
});

async function newPage() {
  const context = await browser.newContext({ viewport: { width: 1100, height: 900 } });
  const page = await context.newPage();
  const problems = [];
  page.on('pageerror', (error) => problems.push(error.message));
  return { page, context, problems };
}

test('shop → cart → pay with 4242 → success, captured for the cart total', async () => {
  const { page, context, problems } = await newPage();
  const items = { mug: 2, stickers: 1 };
  const frame = await openCheckout(page, server, { items });
  const expected = await cartTotal(server, items);
  await assert.doesNotReject(frame.getByText('Kassa mug × 2').waitFor());
  await fillCard(frame, '4242 4242 4242 4242');
  await screenshot(page, 'checkout-card-form-light');
  await frame.getByRole('button', { name: /^Pay/ }).click();
  await frame.getByRole('heading', { name: 'Payment complete' }).waitFor();
  await screenshot(page, 'checkout-success-light');
  await page.locator('#order-status').getByText('Thank you').waitFor();
  // The shop's order is marked paid by the signed order.paid webhook.
  await page.locator('#order-status[data-order="paid"]').waitFor();
  const payment = await shopPayment(page, server);
  assert.equal(payment.status, 'captured');
  assert.equal(payment.capturedAmountCents, expected);
  assert.deepEqual(problems, []);
  await context.close();
});

test('3-D Secure: the bank code passes; a wrong code fails and another card pays', async () => {
  const { page, context } = await newPage();
  let frame = await openCheckout(page, server, { items: { tee: 1 } });
  await fillCard(frame, '4000 0027 6000 3184');
  await frame.getByRole('button', { name: /^Pay/ }).click();
  const dialog = frame.getByRole('dialog', { name: 'Confirm this payment with your bank' });
  await dialog.waitFor();
  const bank = frame.frameLocator('#challenge-frame');
  await bank.getByLabel('One-time code').fill('123456');
  await screenshot(page, 'checkout-three-ds-light');
  await bank.getByRole('button', { name: 'Verify' }).click();
  await frame.getByRole('heading', { name: 'Payment complete' }).waitFor();
  assert.equal((await shopPayment(page, server)).status, 'captured');
  await context.close();

  ({ page: page2, context: context2 } = await newPage());
  frame = await openCheckout(page2, server, { items: { tee: 1 } });
  await fillCard(frame, '4000 0000 0000 3220');
  await frame.getByRole('button', { name: /^Pay/ }).click();
  const bank2 = frame.frameLocator('#challenge-frame');
  await bank2.getByLabel('One-time code').fill('000000');
  await bank2.getByRole('button', { name: 'Verify' }).click();
  await frame.getByRole('alert').getByText('Your bank did not confirm the payment').waitFor();
  assert.equal(await frame.getByRole('dialog').count(), 0);
  await fillCard(frame, '4242 4242 4242 4242');
  await frame.getByRole('button', { name: /^Pay/ }).click();
  await frame.getByRole('heading', { name: 'Payment complete' }).waitFor();
  const payment = await shopPayment(page2, server);
  assert.equal(payment.status, 'captured');
  assert.equal(payment.approvedAuthorizations, 1);
  await context2.close();
});
let page2;
let context2;

test('a decline names its reason and the customer pays with another card', async () => {
  const { page, context } = await newPage();
  // The idempotency keys the checkout makes in the browser.
  const keys = [];
  context.on('request', (request) => {
    const key = request.headers()['idempotency-key'];
    if (request.method() === 'POST' && key !== undefined) keys.push(key);
  });
  const frame = await openCheckout(page, server, { items: { notebook: 1 } });
  await fillCard(frame, '4000 0000 0000 9995');
  await frame.getByRole('button', { name: /^Pay/ }).click();
  const alert = frame.getByRole('alert');
  await alert.getByText('Your card has insufficient funds. Please try another card.').waitFor();
  assert.equal(await frame.locator('#card-number').evaluate((el) => el === document.activeElement), true, 'focus goes back to the card number');
  await screenshot(page, 'checkout-declined-light');
  await fillCard(frame, '5555 5555 5555 4444');
  await frame.getByRole('button', { name: /^Pay/ }).click();
  await frame.getByRole('heading', { name: 'Payment complete' }).waitFor();
  const payment = await shopPayment(page, server);
  assert.equal(payment.status, 'captured');
  assert.equal(payment.approvedAuthorizations, 1);
  assert.equal(payment.attempts, 2);
  // Each attempt is a new operation under its own unguessable key: 128 random bits.
  assert.ok(keys.length >= 2, `keys sent: ${keys}`);
  for (const key of keys) assert.match(key, /^[0-9a-f]{32}$/);
  assert.equal(new Set(keys).size, keys.length, `keys sent: ${keys}`);
  await context.close();
});

test('a double click on Pay pays once', async () => {
  const { page, context } = await newPage();
  const frame = await openCheckout(page, server, { items: { mug: 1 } });
  await fillCard(frame, '4242 4242 4242 4242');
  await frame.getByRole('button', { name: /^Pay/ }).dblclick();
  await frame.getByRole('heading', { name: 'Payment complete' }).waitFor();
  const payment = await shopPayment(page, server);
  assert.equal(payment.approvedAuthorizations, 1);
  assert.equal(payment.attempts, 1);
  await context.close();
});

test('a saved card: the first payment saves it, the second uses it without typing, and no other browser sees it', async () => {
  const email = `jo-${Date.now()}@example.com`;
  const { page, context } = await newPage();
  let frame = await openCheckout(page, server, { items: { mug: 1 }, email });
  await fillCard(frame, '5555 5555 5555 4444');
  await frame.getByLabel('Save this card for next time').check();
  await frame.getByRole('button', { name: /^Pay/ }).click();
  await frame.getByRole('heading', { name: 'Payment complete' }).waitFor();

  // The same shopper comes back in the same browser.
  const page2 = await context.newPage();
  frame = await openCheckout(page2, server, { items: { stickers: 2 }, email });
  const saved = frame.getByRole('radio', { name: /Mastercard ending in 4444/ });
  await saved.waitFor();
  assert.equal(await saved.isChecked(), true);
  assert.equal(await frame.locator('#card-number').count(), 0, 'no card fields to type in');
  await screenshot(page2, 'checkout-saved-card-light');
  await frame.getByRole('button', { name: /^Pay/ }).click();
  await frame.getByRole('heading', { name: 'Payment complete' }).waitFor();
  const payment = await shopPayment(page2, server);
  assert.equal(payment.status, 'captured');
  assert.equal(payment.capturedAmountCents, await cartTotal(server, { stickers: 2 }));
  await context.close();

  // Someone else types the same email in another browser: a fresh card form, no saved cards.
  const stranger = await newPage();
  frame = await openCheckout(stranger.page, server, { items: { mug: 1 }, email });
  await frame.locator('#card-number').waitFor();
  assert.equal(await frame.getByRole('radio', { name: /ending in 4444/ }).count(), 0);
  await stranger.context.close();
});

test('update() after mount changes the locale, the theme and the amount charged', async () => {
  const { page, context } = await newPage();
  const frame = await openCheckout(page, server, { items: { tee: 1 } });
  await frame.getByTestId('total').getByText('€25.00').waitFor();
  // The shop's page sends the checkout a typed update message for each.
  await page.selectOption('#locale', 'de');
  await frame.getByRole('heading', { name: 'Bezahlen' }).waitFor();
  await page.selectOption('#theme', 'dark');
  await frame.locator('html[data-theme="dark"]').waitFor();
  await page.selectOption('#locale', 'en');
  await frame.getByRole('heading', { name: 'Checkout' }).waitFor();
  await page.getByRole('button', { name: 'One more Kassa T-shirt' }).click();
  await frame.getByTestId('total').getByText('€50.00').waitFor();
  await frame.getByRole('button', { name: 'Pay €50.00' }).waitFor();
  await fillCard(frame, '4242 4242 4242 4242');
  await frame.getByRole('button', { name: /^Pay/ }).click();
  await frame.getByRole('heading', { name: 'Payment complete' }).waitFor();
  assert.equal((await shopPayment(page, server)).capturedAmountCents, 5000);
  await context.close();
});

test('a payment made with the keyboard alone', async () => {
  const { page, context } = await newPage();
  const frame = await openCheckout(page, server, { items: { mug: 1 } });
  await frame.locator('#card-number').focus();
  await page.keyboard.type('4242424242424242');
  await page.keyboard.press('Tab');
  await page.keyboard.type('1234');
  await page.keyboard.press('Tab');
  await page.keyboard.type('123');
  await page.keyboard.press('Enter');
  await frame.getByRole('heading', { name: 'Payment complete' }).waitFor();
  assert.equal((await shopPayment(page, server)).status, 'captured');
  await context.close();
});

test('the card form takes input while the intent loads, and Pay waits for the amount', async () => {
  const { page, context, problems } = await newPage();
  // Kassa's answer to the checkout's first read of the intent is held back until released.
  let release;
  const held = new Promise((resolve) => { release = resolve; });
  let holding = true;
  await context.route(/\/api\/v1\/payments\/intents\/pi_[^/?]+\?clientSecret=/, async (route) => {
    if (holding) {
      holding = false;
      await held;
    }
    await route.continue();
  });
  const frame = await openCheckout(page, server, { items: { mug: 1 } });
  await frame.getByRole('status').getByText('Loading…').waitFor();
  const pay = frame.locator('#pay');
  assert.equal(await pay.isDisabled(), true, 'nobody pays before seeing the amount');
  const number = frame.getByLabel('Card number');
  await number.pressSequentially('4242 4242');
  await screenshot(page, 'checkout-loading-light');
  release();
  await frame.getByTestId('total').getByText(/\d/).waitFor();
  assert.equal(await number.inputValue(), '4242 4242', 'what was typed stays');
  assert.equal(await frame.locator(':focus').getAttribute('id'), 'card-number', 'and so does the focus');
  assert.equal(await pay.isDisabled(), false);
  assert.match(await pay.textContent(), /^Pay \S+/);
  assert.equal(await frame.getByText('Loading…').count(), 0);
  assert.deepEqual(problems, []);
  await context.close();
});

test('errors show when a field is left, never on the first keystroke', async () => {
  const { page, context } = await newPage();
  const frame = await openCheckout(page, server, { items: { mug: 1 }, locale: 'de' });
  await frame.getByRole('heading', { name: 'Bezahlen' }).waitFor();
  const number = frame.getByLabel('Kartennummer');
  await number.pressSequentially('4242 4242 4242 4241');
  assert.equal(await frame.locator('#card-number-error').textContent(), '');
  await frame.getByLabel('Gültig bis (MM/JJ)').focus();
  await frame.locator('#card-number-error').getByText('Bitte eine gültige Kartennummer eingeben.').waitFor();
  assert.equal(await number.getAttribute('aria-invalid'), 'true');
  // The locale switches without remounting.
  await page.selectOption('#locale', 'en');
  await frame.locator('#card-number-error').getByText('Enter a valid card number.').waitFor();
  await context.close();
});

const checkoutFrame = (page) => page.frames().find((f) => f.url().includes('/checkout/'));

test('kiosk: an 18 % tip is charged on top of the subtotal, and the receipt shows it', async () => {
  const { page, context } = await newPage();
  await page.goto(`${server.shopUrl}/kiosk.html`);
  await page.getByRole('heading', { name: 'Would you like to add a tip?' }).waitFor();
  const subtotal = 2 * 380 + 420;
  const tip = Math.round((subtotal * 18) / 100);
  await screenshot(page, 'kiosk-tip-light');
  const target = await page.getByRole('button', { name: /18 %/ }).boundingBox();
  assert.ok(target.height >= 72, 'large touch targets');
  await page.getByRole('button', { name: /18 %/ }).click();
  await page.getByTestId('tip-amount').getByText('€2.12').waitFor();
  assert.equal(tip, 212);
  await page.getByTestId('total').getByText('€13.92').waitFor();
  await fillCard(page, '4242 4242 4242 4242');
  await screenshot(page, 'kiosk-pay-light');
  await page.getByRole('button', { name: 'Pay €13.92' }).click();
  await page.getByRole('heading', { name: 'Receipt' }).waitFor();
  await screenshot(page, 'kiosk-receipt-light');
  assert.equal(await page.getByTestId('paid-amount').textContent(), '€13.92');
  const id = await page.evaluate(() => new URLSearchParams(location.hash.slice(1)).get('clientSecret').split('_secret_')[0]);
  const payment = await (await fetch(`${server.shopUrl}/demo/api/payments/${id}`)).json();
  assert.equal(payment.capturedAmountCents, subtotal + tip);
  assert.equal(payment.tipCents, tip);
  // Done: back to the shop's kiosk page on its own origin, which starts the next customer's payment.
  const back = page.waitForRequest((request) => request.url() === `${server.shopUrl}/kiosk.html`);
  await page.getByRole('button', { name: 'Done' }).click();
  await back;
  await page.waitForURL((url) => url.pathname === '/checkout/' && !url.hash.includes(id));
  await page.getByRole('heading', { name: 'Would you like to add a tip?' }).waitFor();
  await context.close();
});

test('kiosk: the idle timeout resets to the start, but never during a payment', async () => {
  const { page, context } = await newPage();
  await page.goto(`${server.shopUrl}/kiosk.html?idleSeconds=2`);
  await page.getByRole('button', { name: 'No tip' }).click();
  await page.getByLabel('Card number').fill('4242');
  await page.getByRole('heading', { name: 'Would you like to add a tip?' }).waitFor({ timeout: 6000 });
  assert.equal(await page.getByLabel('Card number').count(), 0);
  // A challenge in progress is a payment in flight: the kiosk waits.
  await page.getByRole('button', { name: 'No tip' }).click();
  await fillCard(page, '4000 0027 6000 3184');
  await page.getByRole('button', { name: /^Pay/ }).click();
  await page.getByRole('dialog').waitFor();
  await page.waitForTimeout(3500);
  assert.equal(await page.getByRole('dialog').count(), 1, 'the challenge is still open');
  await page.frameLocator('#challenge-frame').getByLabel('One-time code').fill('123456');
  await page.frameLocator('#challenge-frame').getByRole('button', { name: 'Verify' }).click();
  await page.getByRole('heading', { name: 'Receipt' }).waitFor();
  await context.close();
});

test('kiosk: a restartUrl that would leave the site is not followed', async () => {
  const response = await fetch(`${server.url}/api/v1/payments/intents`, {
    method: 'POST',
    headers: { authorization: `Bearer ${server.merchant.secretKey}`, 'content-type': 'application/json' },
    body: JSON.stringify({ amountCents: 900, currency: 'EUR' }),
  });
  const { clientSecret } = (await response.json()).data;
  const { page, context } = await newPage();
  const fragment = new URLSearchParams({ mode: 'kiosk', clientSecret, pk: server.merchant.publishableKey, restartUrl: '/\\evil.example/next' });
  await page.goto(`${server.url}/checkout/#${fragment}`);
  await page.getByRole('button', { name: 'No tip' }).click();
  await fillCard(page, '4242 4242 4242 4242');
  await page.getByRole('button', { name: /^Pay/ }).click();
  await page.getByRole('heading', { name: 'Receipt' }).waitFor();
  await page.getByRole('button', { name: 'Done' }).click();
  await page.waitForTimeout(500);
  assert.equal(new URL(page.url()).origin, new URL(server.url).origin, `the kiosk stayed on Kassa: ${page.url()}`);
  await context.close();
});

test('axe finds no serious or critical problems on the checkout, the bank modal and the kiosk', async () => {
  const context = await browser.newContext({ bypassCSP: true, viewport: { width: 1100, height: 900 } });
  const page = await context.newPage();
  const frame = await openCheckout(page, server, { items: { mug: 1 } });
  await frame.locator('#pay').waitFor();
  assert.deepEqual(await axe(checkoutFrame(page)), [], 'card form');
  await fillCard(frame, '4000 0027 6000 3184');
  await frame.getByRole('button', { name: /^Pay/ }).click();
  await frame.frameLocator('#challenge-frame').getByLabel('One-time code').waitFor();
  assert.deepEqual(await axe(checkoutFrame(page)), [], '3-D Secure modal');
  const bank = page.frames().find((f) => f.url().includes('/3ds/'));
  assert.deepEqual(await axe(bank), [], 'the bank page');

  const kiosk = await context.newPage();
  await kiosk.goto(`${server.shopUrl}/kiosk.html`);
  await kiosk.getByRole('button', { name: 'No tip' }).waitFor();
  assert.deepEqual(await axe(kiosk.mainFrame()), [], 'kiosk tip screen');
  await kiosk.getByRole('button', { name: 'No tip' }).click();
  assert.deepEqual(await axe(kiosk.mainFrame()), [], 'kiosk card form');
  await context.close();
});

test('screens in the dark theme', async () => {
  const { page, context } = await newPage();
  const frame = await openCheckout(page, server, { items: { mug: 1, notebook: 1 }, theme: 'dark' });
  await fillCard(frame, '4000 0000 0000 9995');
  await frame.getByRole('button', { name: /^Pay/ }).click();
  await frame.getByRole('alert').getByText('insufficient funds').waitFor();
  await screenshot(page, 'checkout-declined-dark');
  assert.equal(await checkoutFrame(page).evaluate(() => document.documentElement.dataset.theme), 'dark');
  // The theme switches without remounting.
  await page.selectOption('#theme', 'light');
  await frame.locator('html[data-theme="light"]').waitFor({ state: 'attached' });
  await page.selectOption('#theme', 'dark');
  await fillCard(frame, '4000 0027 6000 3184');
  await frame.getByRole('button', { name: /^Pay/ }).click();
  await frame.frameLocator('#challenge-frame').getByLabel('One-time code').fill('123456');
  await screenshot(page, 'checkout-three-ds-dark');
  await frame.frameLocator('#challenge-frame').getByRole('button', { name: 'Verify' }).click();
  await frame.getByRole('heading', { name: 'Payment complete' }).waitFor();
  await screenshot(page, 'checkout-success-dark');
  await context.close();

  const kiosk = await newPage();
  await kiosk.page.emulateMedia({ colorScheme: 'dark' });
  await kiosk.page.goto(`${server.shopUrl}/kiosk.html`);
  await kiosk.page.getByRole('button', { name: 'No tip' }).waitFor();
  await kiosk.page.evaluate(() => document.documentElement.setAttribute('data-theme', 'dark'));
  await screenshot(kiosk.page, 'kiosk-tip-dark');
  await kiosk.context.close();
});

test('the checkout downloads compressed, and what is named by its content is cached for good', async () => {
  const get = (path, encoding) => fetch(`${server.url}/checkout/${path}`, { headers: { 'accept-encoding': encoding } });
  const page = await get('', 'br, gzip');
  assert.equal(page.headers.get('content-encoding'), 'br');
  assert.equal(page.headers.get('cache-control'), 'no-cache', 'the page that names the files is checked each time');
  const html = await page.text();
  const wasm = html.match(/kassa-checkout-[0-9a-f]+_bg\.wasm/)?.[0];
  assert.ok(wasm, html);
  const plain = await get(wasm, 'identity');
  assert.equal(plain.headers.get('content-encoding'), null);
  const original = Buffer.from(await plain.arrayBuffer());
  for (const encoding of ['br', 'gzip']) {
    const response = await get(wasm, encoding);
    assert.equal(response.headers.get('content-encoding'), encoding);
    assert.equal(response.headers.get('content-type'), 'application/wasm');
    assert.equal(response.headers.get('cache-control'), 'public, max-age=31536000, immutable');
    assert.ok(Number(response.headers.get('content-length')) < original.length / 2, `${encoding} is less than half the size`);
    assert.deepEqual(Buffer.from(await response.arrayBuffer()), original, 'and decodes to the same file');
  }
});

test('the checkout runs under a strict CSP and its iframe fits its content', async () => {
  const response = await fetch(`${server.url}/checkout/`);
  const csp = response.headers.get('content-security-policy');
  assert.match(csp, /script-src 'self' 'wasm-unsafe-eval'/);
  assert.match(csp, /connect-src 'self'/);
  assert.doesNotMatch(csp, /unsafe-inline/);
  const html = await response.text();
  assert.doesNotMatch(html, /<script(?![^>]*\bsrc=)[^>]*>/, 'no inline script');

  const { page, context, problems } = await newPage();
  const violations = [];
  page.on('console', (m) => /Content Security Policy/.test(m.text()) && violations.push(m.text()));
  const frame = await openCheckout(page, server, { items: { mug: 1, tee: 1, notebook: 1 } });
  await frame.getByTestId('total').waitFor();
  await page.waitForFunction(() => document.querySelector('#checkout iframe').getBoundingClientRect().height > 300);
  const inner = checkoutFrame(page);
  const fit = await inner.evaluate(() => ({ content: document.documentElement.scrollHeight, view: window.innerHeight }));
  assert.ok(fit.content <= fit.view, `no scrollbar: ${JSON.stringify(fit)}`);
  assert.deepEqual(violations, []);
  assert.deepEqual(problems, []);
  await context.close();
});
