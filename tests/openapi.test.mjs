// The OpenAPI document against the server it describes: Schemathesis (from PyPI, in a virtual
// environment the test makes) runs every check it has against a live kassa-server with a seeded
// merchant whose Stripe is localstripe, and must find nothing. Its time is bounded; its seed is
// printed, so a failure can be run again with `--seed`.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { startServer, root } from './support/server.mjs';
import { startLocalstripe, SECRET_KEY } from './support/localstripe.mjs';
import { pythonTool } from './support/python.mjs';

const SCHEMATHESIS = '4.32.5';
const SECONDS = Number(process.env.KASSA_SCHEMATHESIS_SECONDS ?? 120);

let stripe;
let server;
before(async () => {
  stripe = await startLocalstripe();
  server = await startServer({ serveArgs: ['--stripe-api-base', stripe.url] });
  await seed();
});
after(async () => {
  await server?.stop();
  await stripe?.stop();
});

async function api(method, path, body, key = server.merchant.secretKey) {
  const response = await fetch(`${server.url}/api/v1${path}`, {
    method,
    headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
    body: body && JSON.stringify(body),
  });
  const json = await response.json();
  assert.ok(response.ok, `${method} ${path}: ${JSON.stringify(json)}`);
  return json.data;
}

/** Something in every list, so the lists' filters and links have objects to find. */
async function seed() {
  const card = { number: '4242424242424242', expMonth: 12, expYear: new Date().getFullYear() + 2, cvc: '123' };
  const customer = await api('POST', '/customers', { email: 'ada@shop.example', name: 'Ada' });
  const order = await api('POST', '/orders', { currency: 'EUR', lineItems: [{ name: 'Tea', unitAmountCents: 450, quantity: 2 }] });
  await api('POST', '/payments/sale', { amountCents: 900, currency: 'EUR', card, orderId: order.id, customerId: customer.id });
  await api('POST', '/payments/authorize', { amountCents: 1200, currency: 'USD', card });
  await fetch(`${server.url}/api/v1/payments/sale`, {
    method: 'POST',
    headers: { authorization: `Bearer ${server.merchant.secretKey}`, 'content-type': 'application/json' },
    body: JSON.stringify({ amountCents: 700, currency: 'USD', card: { ...card, number: '4000000000000002' } }),
  });
  await api('POST', '/webhook-endpoints', { url: 'https://shop.example/hooks', events: ['*'] });
}

function schemathesis(key, args) {
  // `python -m`: a console script's first line names the folder the environment was built in.
  const python = join(pythonTool('schemathesis', SCHEMATHESIS, 'schemathesis'), 'bin', 'python');
  const child = spawn(python, ['-m', 'schemathesis.cli',
    '--config-file', join(root, 'tests', 'schemathesis', 'schemathesis.toml'),
    'run', `${server.url}/api/v1/openapi.json`, '--url', server.url,
    '--header', `Authorization: Bearer ${key}`,
    '--checks', 'all', '--workers', '2', '--no-color',
    ...args,
  ], { cwd: root, env: { ...process.env, NO_COLOR: '1', KASSA_STRIPE_SECRET_KEY: SECRET_KEY }, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout.on('data', (chunk) => (output += chunk));
  child.stderr.on('data', (chunk) => (output += chunk));
  return new Promise((resolve) => child.on('exit', (code) => resolve({ code, output })));
}

test('Schemathesis, every check, finds nothing the document and the server disagree on', { timeout: (SECONDS + 240) * 1000 }, async () => {
  // Every phase Schemathesis runs by default: the document's examples, coverage, fuzzing and
  // stateful sequences.
  const main = await schemathesis(server.merchant.secretKey, ['--max-time', String(SECONDS), '--exclude-path-regex', '/api-keys']);
  const summary = (run) => run.output.split('\n').filter((l) => /generated|Seed:|failures?|passed|Operations|Tested/.test(l)).join('\n');
  console.log(summary(main));
  assert.equal(main.code, 0, main.output);
  everyOperationTested(main);
  everyPhasePassed(main);
  // Keys last and on their own key: rolling or revoking the key it runs with ends a run's reach.
  const own = await api('POST', '/api-keys', { kind: 'secret', name: 'schemathesis' });
  const keys = await schemathesis(own.key, ['--max-time', '30', '--include-path-regex', '/api-keys']);
  console.log(summary(keys));
  assert.equal(keys.code, 0, keys.output);
  everyOperationTested(keys);
});

// Each operation the run selected was sent cases, not only the ones the generator found easy.
function everyOperationTested(run) {
  const selected = run.output.match(/Selected: (\d+)\//)?.[1];
  const tested = run.output.match(/Tested: (\d+)/)?.[1];
  assert.ok(selected && Number(selected) > 0, run.output);
  assert.equal(tested, selected, run.output);
}

// Each phase Schemathesis runs by default ran, and found nothing.
function everyPhasePassed(run) {
  for (const phase of ['Examples', 'Coverage', 'Fuzzing', 'Stateful']) {
    assert.match(run.output, new RegExp(`✅ ${phase}\\b`), run.output);
  }
}
