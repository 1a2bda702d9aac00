// The Stripe face's OpenAPI document (`/v1/openapi.json`) against the server it describes:
// Schemathesis runs every check it has, in its default phases, against a live kassa-server on its
// sandbox, with objects of every kind made through the face first, and must find nothing. Its time
// is bounded (KASSA_SCHEMATHESIS_SECONDS); its seed is printed, so a failure can be run again with
// `--seed`.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { startServer, root } from './support/server.mjs';
import { pythonTool } from './support/python.mjs';

const SCHEMATHESIS = '4.32.5';
const SECONDS = Number(process.env.KASSA_SCHEMATHESIS_SECONDS ?? 90);

let server;
before(async () => {
  server = await startServer();
  await seed();
});
after(async () => {
  await server?.stop();
});

/** A form as Stripe's clients write it: `card[exp_month]=12`, `expand[0]=customer`. */
function form(params, prefix = '', out = new URLSearchParams()) {
  for (const [key, value] of Object.entries(params)) {
    const name = prefix ? `${prefix}[${key}]` : key;
    if (value !== null && typeof value === 'object') form(value, name, out);
    else out.append(name, String(value));
  }
  return out;
}

async function face(method, path, params = {}) {
  const query = method === 'GET' ? `?${form(params)}` : '';
  const response = await fetch(`${server.url}/v1${path}${query}`, {
    method,
    headers: { authorization: `Bearer ${server.merchant.secretKey}`, 'content-type': 'application/x-www-form-urlencoded' },
    body: method === 'POST' ? form(params).toString() : undefined,
  });
  const json = await response.json();
  return { status: response.status, json };
}

async function made(method, path, params) {
  const { status, json } = await face(method, path, params);
  assert.equal(status, 200, `${method} ${path}: ${JSON.stringify(json)}`);
  return json;
}

/** Something in every list, so that the lists' filters and cursors have objects to find. */
async function seed() {
  const customer = await made('POST', '/customers', { email: 'ada@shop.example', name: 'Ada', metadata: { tier: 'gold' } });
  const paid = await made('POST', '/payment_intents', { amount: 2000, currency: 'usd', customer: customer.id, payment_method: 'pm_card_visa', confirm: true, metadata: { order: '6735' } });
  await made('POST', '/refunds', { payment_intent: paid.id, amount: 500 });
  await made('POST', '/payment_intents', { amount: 1200, currency: 'eur', capture_method: 'manual', payment_method: 'pm_card_mastercard', confirm: true });
  await made('POST', '/payment_intents', { amount: 900, currency: 'usd', description: 'Open cart' });
  const declined = await face('POST', '/payment_intents', { amount: 700, currency: 'usd', payment_method: 'pm_card_chargeDeclined', confirm: true });
  assert.equal(declined.status, 402, JSON.stringify(declined.json));
  const card = { number: '4242424242424242', exp_month: 12, exp_year: new Date().getFullYear() + 2, cvc: '123' };
  const method = await made('POST', '/payment_methods', { type: 'card', card });
  await made('POST', `/payment_methods/${method.id}/attach`, { customer: customer.id });
  await made('POST', '/setup_intents', { customer: customer.id, payment_method: 'pm_card_visa', confirm: true });
  await made('POST', '/webhook_endpoints', { url: 'https://shop.example/hooks/stripe', enabled_events: ['*'] });
}

function schemathesis(args) {
  // `python -m`: a console script's first line names the folder the environment was built in.
  const python = join(pythonTool('schemathesis', SCHEMATHESIS, 'schemathesis'), 'bin', 'python');
  const child = spawn(python, ['-m', 'schemathesis.cli',
    '--config-file', join(root, 'tests', 'schemathesis', 'stripe.toml'),
    'run', `${server.url}/v1/openapi.json`, '--url', server.url,
    '--header', `Authorization: Bearer ${server.merchant.secretKey}`,
    '--checks', 'all', '--workers', '2', '--no-color',
    ...args,
  ], { cwd: root, env: { ...process.env, NO_COLOR: '1' }, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout.on('data', (chunk) => (output += chunk));
  child.stderr.on('data', (chunk) => (output += chunk));
  return new Promise((resolve) => child.on('exit', (code) => resolve({ code, output })));
}

test('the face\'s document is served without a key, and is OpenAPI 3.1', async () => {
  const response = await fetch(`${server.url}/v1/openapi.json`);
  assert.equal(response.status, 200);
  const doc = await response.json();
  assert.match(doc.openapi, /^3\.1\./);
  assert.ok(doc.paths['/v1/payment_intents'].post.requestBody.content['application/x-www-form-urlencoded']);
});

test('Schemathesis, every check, finds nothing the Stripe face\'s document and the server disagree on', { timeout: (SECONDS + 240) * 1000 }, async () => {
  // Every phase Schemathesis runs by default: the document's examples, coverage, fuzzing and
  // stateful sequences.
  const run = await schemathesis(['--max-time', String(SECONDS)]);
  console.log(run.output.split('\n').filter((l) => /generated|Seed:|failures?|passed|Operations|Tested|✅|❌|⏭/.test(l)).join('\n'));
  assert.equal(run.code, 0, run.output);
  // Each operation was sent cases, not only the ones the generator found easy.
  const selected = run.output.match(/Selected: (\d+)\//)?.[1];
  const tested = run.output.match(/Tested: (\d+)/)?.[1];
  assert.ok(selected && Number(selected) > 0, run.output);
  assert.equal(tested, selected, run.output);
  // Each phase Schemathesis runs by default ran, and found nothing.
  for (const phase of ['Examples', 'Coverage', 'Fuzzing', 'Stateful']) {
    assert.match(run.output, new RegExp(`✅ ${phase}\\b`), run.output);
  }
});
