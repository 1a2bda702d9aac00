// The merchant console as shop staff meet it: signed in as people with roles, in real Chromium,
// against a live kassa-server whose payments were made through the API.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { createServer } from 'node:http';
import { startServer } from './support/server.mjs';
import { launchBrowser, screenshots, axe } from './support/browser.mjs';

const PASSWORD = 'correct horse battery';

let server;
let browser;
let seeded;

before(async () => {
  server = await startServer();
  browser = await launchBrowser();
  seeded = await seed(server);
});

after(async () => {
  await browser?.close();
  await server?.stop();
});

async function api(target, method, path, body) {
  const response = await fetch(`${target.url}/api/v1${path}`, {
    method,
    headers: { authorization: `Bearer ${target.merchant.secretKey}`, 'content-type': 'application/json' },
    body: body && JSON.stringify(body),
  });
  const json = await response.json();
  assert.ok(response.ok, `${method} ${path}: ${JSON.stringify(json)}`);
  return json.data;
}

const card = (number) => ({ number, expMonth: 12, expYear: 2034, cvc: '123' });

/** Payments in two currencies and on two cards; one of them pays an order. */
async function seed(target) {
  const order = await api(target, 'POST', '/orders', { currency: 'EUR', lineItems: [{ name: 'Espresso machine', unitAmountCents: 4999, quantity: 1 }] });
  const sale = (amountCents, currency, number, extra = {}) => api(target, 'POST', '/payments/sale', { amountCents, currency, card: card(number), ...extra });
  await sale(1250, 'EUR', '4242424242424242');
  await sale(2500, 'EUR', '5555555555554444');
  const paid = await sale(4999, 'EUR', '5555555555554444', { orderId: order.id });
  await sale(7500, 'EUR', '5555555555554444');
  await sale(3000, 'USD', '5555555555554444');
  return { order, paid };
}

// axe is put into the page as a script, which the console's CSP would refuse.
async function newPage({ theme = 'light', width = 1200, bypassCSP = false } = {}) {
  const context = await browser.newContext({ viewport: { width, height: 900 }, locale: 'en-GB', bypassCSP });
  await context.addInitScript((t) => localStorage.setItem('kassa.console.theme', t), theme);
  const page = await context.newPage();
  const problems = [];
  page.on('pageerror', (error) => problems.push(error.message));
  return { page, context, problems };
}

/** A new user of `role`, who follows their setup link and chooses a password. */
async function setUp(page, email, role, target = server) {
  const made = target.user(email, role);
  await page.goto(`${target.url}${made.setupPath}`);
  await page.getByLabel('New password').fill(PASSWORD);
  await page.getByRole('button', { name: 'Set password and sign in' }).click();
  await page.getByRole('heading', { name: 'Payments', level: 1 }).waitFor();
  assert.ok(!page.url().includes('setup='), 'the setup token leaves the address');
  return made;
}

async function signIn(page, email, password) {
  await page.goto(`${server.url}/console/`);
  await page.getByLabel('Email').fill(email);
  await page.getByLabel('Password').fill(password);
  await page.getByRole('button', { name: 'Sign in' }).click();
}

const amounts = (page) => page.locator('table.rows tbody tr td:first-child').allInnerTexts();

test('search by last 4 and an amount range, open the payment, refund part of it: history and order ledger change', async () => {
  const { page, context, problems } = await newPage();
  await setUp(page, 'ana@corner.example', 'manager');
  // Signed out and in again with the password just chosen.
  await page.getByRole('button', { name: 'Sign out' }).click();
  await signIn(page, 'ana@corner.example', PASSWORD);
  await page.getByRole('heading', { name: 'Payments', level: 1 }).waitFor();
  assert.equal((await amounts(page)).length, 5);

  await page.getByLabel('Card last 4').fill('4444');
  await page.getByLabel('Amount from').fill('20');
  await page.getByLabel('Amount to').fill('60');
  await page.getByLabel('Currency').selectOption('EUR');
  await page.getByRole('button', { name: 'Search' }).click();
  await page.waitForURL(/cardLast4=4444/);
  await page.waitForFunction(() => document.querySelectorAll('table.rows tbody tr').length === 2);
  assert.deepEqual(await amounts(page), ['€49.99', '€25.00']);
  // The search is in the address: opened again, it shows the same.
  const shared = page.url();
  assert.match(shared, /amountMin=20&amountMax=60&currency=EUR&cardLast4=4444/);
  const other = await context.newPage();
  await other.goto(shared);
  await other.getByText('€25.00').waitFor();
  assert.deepEqual(await amounts(other), ['€49.99', '€25.00']);
  assert.equal(await other.getByLabel('Card last 4').inputValue(), '4444');
  await other.close();

  await page.getByRole('link', { name: '€49.99' }).click();
  await page.getByRole('heading', { name: /€49\.99/ }).waitFor();
  assert.match(page.url(), new RegExp(`/console/payments/${seeded.paid.id}$`));
  await page.getByRole('button', { name: 'Refund' }).click();
  assert.equal(await page.getByLabel('Amount').inputValue(), '49.99', 'the form offers what is left to refund');
  await page.getByLabel('Amount').fill('60');
  await page.locator('form.change').getByRole('button', { name: 'Refund…' }).click();
  await page.getByText('Enter an amount like 12.50, at most €49.99.').waitFor();
  await page.getByLabel('Amount').fill('10');
  await page.getByLabel('Reason').fill('Chipped cup');
  await page.locator('form.change').getByRole('button', { name: 'Refund…' }).click();
  const dialog = page.getByRole('dialog');
  await dialog.getByText('Refund €10.00 to the card?').waitFor();
  await page.screenshot({ path: join(screenshots, 'console-refund-confirm-light.png') });
  await dialog.getByRole('button', { name: 'Refund' }).click();
  await page.getByRole('status').getByText('Done.').waitFor();

  // The history has the refund, made by her; the details and the order's ledger follow.
  const refundRow = page.locator('table.rows tbody tr', { hasText: 'Refund' });
  await refundRow.waitFor();
  assert.match(await refundRow.innerText(), /€10\.00[\s\S]*ana@corner\.example/);
  await page.locator('dd', { hasText: '€10.00' }).waitFor();
  const intent = await api(server, 'GET', `/payments/transactions/${seeded.paid.id}`);
  assert.equal(intent.intent.refundedAmountCents, 1000);
  assert.equal(intent.intent.status, 'partially_refunded');
  const order = await api(server, 'GET', `/orders/${seeded.order.id}`);
  const refund = order.payments.find((p) => p.type === 'refund');
  assert.equal(refund?.amountCents, 1000, JSON.stringify(order.payments));
  // The order's page, from the payment's: its ledger has the card payment and its refund.
  await page.getByRole('link', { name: seeded.order.id }).click();
  await page.getByRole('heading', { name: 'Payments', level: 2 }).waitFor();
  const ledger = page.locator('table[aria-label="Payments"] tbody tr');
  await ledger.nth(1).waitFor();
  assert.deepEqual(await ledger.locator('td:first-child').allInnerTexts(), ['Receipt', 'Refund']);
  assert.match(await ledger.nth(1).innerText(), /€10\.00/);
  assert.equal(await page.locator('dl.details').locator('dt:text-is("Balance due") + dd').innerText(), '€10.00');
  assert.deepEqual(problems, []);
  await context.close();
});

test('a viewer sees no refund button, and a forged refund is refused', async () => {
  const { page, context } = await newPage();
  await setUp(page, 'vera@corner.example', 'viewer');
  const target = await api(server, 'POST', '/payments/sale', { amountCents: 1800, currency: 'EUR', card: card('4242424242424242') });
  await page.goto(`${server.url}/console/payments/${target.id}`);
  await page.getByRole('heading', { name: /€18\.00/ }).waitFor();
  await page.getByText('Nothing can be done with this payment now.').waitFor();
  assert.equal(await page.getByRole('button', { name: 'Refund' }).count(), 0);
  const forged = await page.evaluate(async (id) => {
    const session = await (await fetch('/api/v1/console/session')).json();
    const response = await fetch('/api/v1/payments/refund', {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-csrf-token': session.data.csrfToken },
      body: JSON.stringify({ paymentIntentId: id, amountCents: 500 }),
    });
    return [response.status, (await response.json()).error.code];
  }, target.id);
  assert.deepEqual(forged, [403, 'FORBIDDEN']);
  assert.equal((await api(server, 'GET', `/payments/transactions/${target.id}`)).intent.refundedAmountCents, 0);
  await context.close();
});

test('staff capture a payment but are offered no void or refund, and a forged void is refused', async () => {
  const { page, context, problems } = await newPage();
  await setUp(page, 'sami@corner.example', 'staff');
  const held = await api(server, 'POST', '/payments/authorize', { amountCents: 2600, currency: 'EUR', card: card('4242424242424242') });
  await page.goto(`${server.url}/console/payments/${held.id}`);
  await page.getByRole('heading', { name: /€26\.00/ }).waitFor();
  await page.getByRole('button', { name: 'Capture' }).waitFor();
  assert.equal(await page.getByRole('button', { name: 'Void' }).count(), 0, 'voiding needs payments.transactions.void');
  const forged = await page.evaluate(async (id) => {
    const session = await (await fetch('/api/v1/console/session')).json();
    const response = await fetch('/api/v1/payments/void', {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-csrf-token': session.data.csrfToken },
      body: JSON.stringify({ paymentIntentId: id }),
    });
    return [response.status, (await response.json()).error.code];
  }, held.id);
  assert.deepEqual(forged, [403, 'FORBIDDEN']);

  await page.getByRole('button', { name: 'Capture' }).click();
  await page.locator('form.change').getByRole('button', { name: 'Capture…' }).click();
  await page.getByRole('dialog').getByText('Capture €26.00?').waitFor();
  await page.getByRole('dialog').getByRole('button', { name: 'Capture' }).click();
  await page.getByRole('status').getByText('Done.').waitFor();
  const captureRow = page.locator('table.rows tbody tr', { hasText: 'Capture' });
  await captureRow.waitFor();
  assert.match(await captureRow.innerText(), /sami@corner\.example/);
  assert.equal((await api(server, 'GET', `/payments/transactions/${held.id}`)).intent.status, 'captured');
  // Captured, it could be refunded, but not by staff.
  await page.getByRole('button', { name: 'Adjust tip' }).waitFor();
  assert.equal(await page.getByRole('button', { name: 'Refund' }).count(), 0);
  assert.deepEqual(problems, []);
  await context.close();
});

test('sign-in refusals: a wrong password, a lockout, a change without the CSRF token', async () => {
  const { page, context } = await newPage();
  await setUp(page, 'lars@corner.example', 'staff');
  const withoutToken = await page.evaluate(async () => {
    const response = await fetch('/api/v1/payments/sale', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ amountCents: 100, currency: 'EUR', card: { number: '4242424242424242', expMonth: 12, expYear: 2034, cvc: '123' } }),
    });
    return [response.status, (await response.json()).error.code];
  });
  assert.deepEqual(withoutToken, [403, 'FORBIDDEN']);
  await page.getByRole('button', { name: 'Sign out' }).click();

  await signIn(page, 'lars@corner.example', 'not his password');
  await page.getByRole('alert').getByText('Wrong email or password.').waitFor();
  for (let i = 0; i < 4; i += 1) {
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.waitForTimeout(100);
  }
  await page.getByRole('alert').getByText(/Too many failed sign-ins; try again in 15 minutes/).waitFor();
  await page.getByLabel('Password').fill(PASSWORD);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByRole('alert').getByText(/Too many failed sign-ins/).waitFor();
  assert.equal(await page.getByRole('navigation').count(), 0, 'still signed out');
  await context.close();
});

test('an idle session ends, and the console asks to sign in again', async () => {
  const short = await startServer({ serveArgs: ['--session-idle-seconds', '2'] });
  try {
    const { page, context } = await newPage();
    await setUp(page, 'ida@corner.example', 'viewer', short);
    await page.waitForTimeout(2500);
    await page.getByRole('button', { name: 'Search' }).click();
    await page.getByText('Your session ended. Sign in again.').waitFor();
    await page.getByRole('heading', { name: 'Sign in to Kassa' }).waitFor();
    await context.close();
  } finally {
    await short.stop();
  }
});

test('failed payments: the counts match the API; a retry on a saved card succeeds; resolved as cash, the order is paid', async () => {
  const customer = await api(server, 'POST', '/customers', { email: 'guest@corner.example' });
  const token = await api(server, 'POST', '/payment-methods', { card: card('4242424242424242') });
  await api(server, 'POST', `/customers/${customer.id}/payment-methods`, { token: token.id, nickname: 'Work card' });
  const declined = async (orderTotal, extra) => {
    const order = await api(server, 'POST', '/orders', { currency: 'EUR', lineItems: [{ name: 'Cake', unitAmountCents: orderTotal, quantity: 1 }] });
    const response = await fetch(`${server.url}/api/v1/payments/sale`, {
      method: 'POST',
      headers: { authorization: `Bearer ${server.merchant.secretKey}`, 'content-type': 'application/json' },
      body: JSON.stringify({ amountCents: orderTotal, currency: 'EUR', card: card('4000000000000002'), orderId: order.id, ...extra }),
    });
    assert.equal(response.status, 402);
    return { order, id: (await response.json()).error.details.paymentIntentId };
  };
  const forRetry = await declined(3000, { customerId: customer.id });
  const forCash = await declined(2200, {});

  const { page, context, problems } = await newPage();
  await setUp(page, 'max@corner.example', 'manager');
  await page.getByRole('link', { name: 'Failed payments' }).click();
  await page.getByRole('heading', { name: 'Failed payments', level: 1 }).waitFor();
  const counts = await api(server, 'GET', '/payments/failed?counts=true');
  const shown = async (label) => page.locator('dl.details').locator(`dt:text-is("${label}") + dd`).innerText();
  assert.equal(await shown('Total'), String(counts.total));
  assert.equal(await shown('Declined'), String(counts.declined));
  assert.equal(await shown('Errors'), String(counts.error));
  assert.ok(counts.total >= 2);
  await page.screenshot({ path: join(screenshots, 'console-failed-light.png'), fullPage: true });

  await page.goto(`${server.url}/console/payments/${forRetry.id}`);
  await page.getByRole('button', { name: 'Retry' }).click();
  await page.getByLabel('Card').selectOption({ label: 'Visa •••• 4242' });
  await page.locator('form.change').getByRole('button', { name: 'Retry…' }).click();
  await page.getByRole('dialog').getByText('Charge €30.00 again?').waitFor();
  await page.getByRole('dialog').getByRole('button', { name: 'Retry' }).click();
  await page.getByRole('status').getByText('Done.').waitFor();
  const retried = (await api(server, 'GET', '/payments/transactions?limit=100')).find((i) => i.metadata?.retryOf === forRetry.id);
  assert.equal(retried?.status, 'captured');
  assert.equal(retried.amountCents, 3000);

  await page.goto(`${server.url}/console/payments/${forCash.id}`);
  await page.getByRole('button', { name: 'Resolve' }).click();
  await page.getByLabel('Paid by').selectOption('cash');
  await page.getByLabel('Reason').fill('Paid at the till');
  await page.locator('form.change').getByRole('button', { name: 'Resolve…' }).click();
  await page.getByRole('dialog').getByText('Mark €22.00 as paid another way?').waitFor();
  await page.getByRole('dialog').getByRole('button', { name: 'Resolve' }).click();
  await page.getByRole('status').getByText('Done.').waitFor();
  await page.locator('.status[data-value="resolved"]').waitFor();
  const order = await api(server, 'GET', `/orders/${forCash.order.id}`);
  assert.equal(order.status, 'paid');
  assert.ok(order.payments.some((p) => p.methodId === 'cash' && p.status === 'complete' && p.amountCents === 2200), JSON.stringify(order.payments));
  assert.deepEqual(problems, []);
  await context.close();
});

test('orders: a pending cheque recorded, confirmed, corrected and reversed; balance and status after each', async () => {
  const created = await api(server, 'POST', '/orders', { currency: 'EUR', lineItems: [{ name: 'Catering', unitAmountCents: 2500, quantity: 2 }] });
  const { page, context, problems } = await newPage();
  await setUp(page, 'ole@corner.example', 'staff');
  await page.getByRole('link', { name: 'Orders' }).click();
  await page.getByRole('link', { name: '€50.00' }).first().click();
  await page.getByRole('heading', { name: /€50\.00/ }).waitFor();
  const balance = () => page.locator('dl.details').locator('dt:text-is("Balance due") + dd').innerText();
  const status = () => page.locator('h1 .status').innerText();
  // A change that asks for nothing goes straight to its confirmation.
  const change = async (button, confirm, question) => {
    await page.getByRole('button', { name: button, exact: true }).click();
    await page.getByRole('dialog').getByText(question).waitFor();
    await page.getByRole('dialog').getByRole('button', { name: confirm ?? button }).click();
    await page.getByRole('status').getByText('Done.').waitFor();
  };

  await page.getByRole('button', { name: 'Record a payment' }).click();
  await page.getByLabel('Method').selectOption('cheque');
  await page.getByLabel('State').selectOption('pending');
  await page.getByLabel('Transaction reference').fill('chq-118');
  await page.locator('form.change').getByRole('button', { name: 'Record a payment…' }).click();
  await page.getByRole('dialog').getByText('Record €50.00 on this order?').waitFor();
  await page.getByRole('dialog').getByRole('button', { name: 'Record a payment' }).click();
  await page.getByRole('cell', { name: 'chq-118' }).waitFor();
  assert.equal(await balance(), '€50.00', 'a pending cheque is not money yet');
  assert.equal(await status(), 'Open');

  await change('Mark received', null, 'Mark €50.00 as received?');
  await page.getByText('€0.00').waitFor();
  assert.equal(await status(), 'Paid');

  await page.getByRole('button', { name: 'Correct', exact: true }).click();
  await page.getByLabel('Amount').fill('40');
  await page.locator('form.change').getByRole('button', { name: 'Correct…' }).click();
  await page.getByRole('dialog').getByText('Change this payment to €40.00?').waitFor();
  await page.getByRole('dialog').getByRole('button', { name: 'Correct' }).click();
  await page.getByText('€10.00').first().waitFor();
  assert.equal(await balance(), '€10.00');
  assert.equal(await status(), 'Partially paid');
  await page.getByRole('cell', { name: '€50.00 → €40.00' }).waitFor();

  await change('Reverse', null, 'Reverse this payment of €40.00?');
  await page.locator('.entry[data-value="reversed"]').waitFor();
  assert.equal(await balance(), '€50.00');
  assert.equal(await status(), 'Open');
  await page.screenshot({ path: join(screenshots, 'console-order-light.png'), fullPage: true });

  const order = await api(server, 'GET', `/orders/${created.id}`);
  const cheque = order.payments.find((p) => p.methodId === 'cheque');
  assert.equal(cheque.status, 'reversed');
  assert.equal(cheque.corrections.length, 1, 'the correction keeps what it was');
  assert.equal(cheque.createdBy, 'ole@corner.example');
  assert.deepEqual(problems, []);
  await context.close();
});

/** A webhook receiver on 127.0.0.1 that answers 500 until `accept` is set. */
async function receiver() {
  const got = [];
  const state = { accept: false };
  const http = createServer((request, response) => {
    let body = '';
    request.on('data', (chunk) => (body += chunk));
    request.on('end', () => {
      got.push(JSON.parse(body));
      response.writeHead(state.accept ? 204 : 500).end();
    });
  });
  await new Promise((resolve) => http.listen(0, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${http.address().port}/hooks`, got, state, close: () => http.close() };
}

test('developers: a restricted key made, then revoked, stops working; a failed webhook delivery is listed and sent again', async () => {
  // Deliveries give up after one attempt here, so that one fails for good at once.
  const own = await startServer({ serveArgs: ['--webhook-max-attempts', '1', '--webhook-backoff-ms', '100'] });
  const hooks = await receiver();
  try {
    const { page, context, problems } = await newPage();
    await setUp(page, 'olga@corner.example', 'owner', own);
    await page.getByRole('link', { name: 'Developers' }).click();
    await page.getByRole('heading', { name: 'API keys' }).waitFor();
    // Each key says what it may do and until when; only a restricted key lists permissions.
    const keyRows = () => page.locator('table[aria-label="API keys"] tbody tr').evaluateAll((rows) => rows.map((r) => [...r.cells].slice(1).map((c) => c.innerText).filter((_, i) => i !== 1 && i !== 3)));
    assert.deepEqual((await keyRows()).sort(), [['Publishable', 'Card forms in the browser', 'Never'], ['Secret', 'Every permission', 'Never']]);

    await page.getByRole('button', { name: 'Create a restricted key' }).click();
    await page.getByLabel('Name').fill('Till 2');
    await page.getByLabel('payments.transactions.view').check();
    await page.locator('form.change').getByRole('button', { name: 'Create a restricted key…' }).click();
    await page.getByRole('dialog').getByRole('button', { name: 'Create a restricted key' }).click();
    const key = await page.getByTestId('revealed').innerText();
    assert.match(key, /^rk_test_/);
    await page.getByRole('dialog').getByRole('button', { name: 'Close' }).click();
    const asKey = (k) => fetch(`${own.url}/api/v1/payments/transactions`, { headers: { authorization: `Bearer ${k}` } }).then((r) => r.status);
    assert.equal(await asKey(key), 200);

    const section = page.locator('.entry-actions', { hasText: `…${key.slice(-4)}` });
    await section.getByRole('button', { name: 'Revoke' }).click();
    await page.getByRole('dialog').getByText('Revoke this key? Requests with it fail at once.').waitFor();
    await page.getByRole('dialog').getByRole('button', { name: 'Revoke' }).click();
    await page.getByRole('status').getByText('Done.').waitFor();
    // The list is read again after the revoke, and a revoked key has no actions: its section goes
    // (an earlier action's "Done." may still be showing while the revoke runs).
    await section.waitFor({ state: 'detached' });
    assert.equal(await asKey(key), 401, 'a revoked key stops working');

    await page.getByRole('button', { name: 'Add an endpoint' }).click();
    await page.getByLabel('URL').fill(hooks.url);
    await page.locator('form.change').getByRole('button', { name: 'Add an endpoint…' }).click();
    await page.getByRole('dialog').getByRole('button', { name: 'Add an endpoint' }).click();
    assert.match(await page.getByTestId('revealed').innerText(), /^whsec_/);
    await page.getByRole('dialog').getByRole('button', { name: 'Close' }).click();

    await api(own, 'POST', '/payments/sale', { amountCents: 990, currency: 'EUR', card: card('4242424242424242') });
    const until = async (check) => {
      for (let i = 0; i < 100 && !(await check()); i += 1) await new Promise((r) => setTimeout(r, 100));
      assert.ok(await check());
    };
    await until(async () => hooks.got.length >= 1);
    // The failed attempt is listed, with its answer.
    // The attempts as the page shows them after loading it again.
    const attempts = async () => {
      await page.reload();
      await page.locator('table[aria-label="Delivery attempts"]').waitFor();
      return page.locator('table[aria-label="Delivery attempts"] .entry').evaluateAll((badges) => badges.map((b) => b.dataset.value));
    };
    await until(async () => (await attempts())[0] === 'failed');
    assert.match(await page.locator('table[aria-label="Delivery attempts"] tbody tr').first().innerText(), /500/);
    await page.screenshot({ path: join(screenshots, 'console-developers-webhook-light.png'), fullPage: true });

    hooks.state.accept = true;
    await page.getByRole('button', { name: 'Send again' }).click();
    await page.getByRole('dialog').getByRole('button', { name: 'Send again' }).click();
    await page.getByRole('status').getByText('Done.').waitFor();
    await until(async () => hooks.got.length >= 2);
    assert.equal(hooks.got[1].id, hooks.got[0].id, 'the same event');
    await until(async () => (await attempts())[0] === 'delivered');
    assert.deepEqual(await attempts(), ['delivered', 'retrying'], 'the new attempt above the first, which was followed by another');
    assert.deepEqual(problems, []);
    await context.close();
  } finally {
    hooks.close();
    await own.stop();
  }
});

test('only an owner sees the developers screen', async () => {
  const { page, context } = await newPage();
  await setUp(page, 'mia@corner.example', 'manager');
  assert.equal(await page.getByRole('link', { name: 'Developers' }).count(), 0);
  await page.goto(`${server.url}/console/developers`);
  await page.getByRole('heading', { name: 'Nothing here.' }).waitFor();
  await context.close();
});

for (const theme of ['light', 'dark']) {
  test(`axe finds no serious or critical problems on each screen, ${theme} theme; screenshots`, async () => {
    const { page, context } = await newPage({ theme, bypassCSP: true });
    await page.goto(`${server.url}/console/`);
    await page.getByRole('heading', { name: 'Sign in to Kassa' }).waitFor();
    assert.deepEqual(await axe(page.mainFrame()), [], 'sign-in');
    await page.screenshot({ path: join(screenshots, `console-sign-in-${theme}.png`) });

    const made = server.user(`axe-${theme}@corner.example`, 'owner');
    await page.goto(`${server.url}${made.setupPath}`);
    await page.getByRole('heading', { name: 'Choose your password' }).waitFor();
    assert.deepEqual(await axe(page.mainFrame()), [], 'setup');
    await page.screenshot({ path: join(screenshots, `console-setup-${theme}.png`) });
    await page.getByLabel('New password').fill(PASSWORD);
    await page.getByRole('button', { name: 'Set password and sign in' }).click();

    await page.locator('table.rows').waitFor();
    assert.deepEqual(await axe(page.mainFrame()), [], 'payments');
    await page.screenshot({ path: join(screenshots, `console-payments-${theme}.png`), fullPage: true });

    await page.goto(`${server.url}/console/payments/${seeded.paid.id}`);
    await page.getByRole('heading', { name: 'History' }).waitFor();
    assert.deepEqual(await axe(page.mainFrame()), [], 'payment');
    await page.screenshot({ path: join(screenshots, `console-payment-${theme}.png`), fullPage: true });
    await page.getByRole('button', { name: 'Refund' }).click();
    await page.locator('form.change').getByRole('button', { name: 'Refund…' }).click();
    await page.getByRole('dialog').waitFor();
    assert.deepEqual(await axe(page.mainFrame()), [], 'confirmation');
    await page.getByRole('dialog').getByRole('button', { name: 'Cancel' }).click();

    for (const [path, name] of [['failed', 'failed payments'], ['orders', 'orders'], [`orders/${seeded.order.id}`, 'order'], ['developers', 'developers']]) {
      await page.goto(`${server.url}/console/${path}`);
      await page.locator('main h1').waitFor();
      await page.locator('main table, main p[role="status"]:not(:empty)').first().waitFor();
      await page.waitForFunction(() => !document.querySelector('main p[role="status"]')?.textContent.includes('Loading'));
      assert.deepEqual(await axe(page.mainFrame()), [], name);
      await page.screenshot({ path: join(screenshots, `console-${path.split('/')[0]}-${theme}.png`), fullPage: true });
    }
    await page.goto(`${server.url}/console/payments/${seeded.paid.id}`);
    await page.getByRole('heading', { name: 'History' }).waitFor();

    // German, the same screen.
    await page.getByRole('button', { name: 'Deutsch' }).click();
    await page.getByRole('heading', { name: 'Verlauf' }).waitFor();
    assert.equal(await page.locator('html').getAttribute('lang'), 'de');
    await page.screenshot({ path: join(screenshots, `console-payment-de-${theme}.png`), fullPage: true });
    await page.getByRole('button', { name: 'English' }).click();
    await context.close();
  });
}

test('at 360 px wide nothing scrolls sideways', async () => {
  const { page, context } = await newPage({ width: 360 });
  await setUp(page, 'pia@corner.example', 'owner');
  // An endpoint nothing listens on, so that the developers screen lists its failing attempts.
  await api(server, 'POST', '/webhook-endpoints', { url: 'http://127.0.0.1:9/kassa', events: ['payment_intent.succeeded'] });
  await api(server, 'POST', '/payments/sale', { amountCents: 990, currency: 'EUR', card: card('4242424242424242') });
  await page.locator('table.rows').waitFor();
  // The elements that reach past the right edge, if any.
  const overflow = async () =>
    page.evaluate(() => {
      const width = document.documentElement.clientWidth;
      return [...document.querySelectorAll('body *')]
        .filter((e) => e.getBoundingClientRect().right > width + 1)
        .map((e) => `${e.tagName.toLowerCase()}.${e.className} ${Math.round(e.getBoundingClientRect().right)}`);
    });
  assert.deepEqual(await overflow(), [], 'payments');
  await page.screenshot({ path: join(screenshots, 'console-payments-360.png'), fullPage: true });
  for (const [path, name] of [[`payments/${seeded.paid.id}`, 'payment'], ['failed', 'failed'], ['orders', 'orders'], [`orders/${seeded.order.id}`, 'order'], ['developers', 'developers']]) {
    await page.goto(`${server.url}/console/${path}`);
    await page.locator('main table, main p[role="status"]:not(:empty)').first().waitFor();
    await page.waitForFunction(() => !document.querySelector('main p[role="status"]')?.textContent.includes('Loading'));
    if (name === 'developers') await page.locator('table[aria-label="Delivery attempts"]').waitFor();
    assert.deepEqual(await overflow(), [], name);
    await page.screenshot({ path: join(screenshots, `console-${name}-360.png`), fullPage: true });
  }
  await context.close();
});
