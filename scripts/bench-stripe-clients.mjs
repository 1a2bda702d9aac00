// stripe-node's `paymentIntents.create({confirm: true})` from 16 clients at once, each sending its
// next request when the last was answered: against Kassa's Stripe face (on the sandbox, so Kassa's
// own cost is measured) and against localstripe, one after the other in one run. Prints the rates
// and their ratio as Markdown.
import Stripe from 'stripe';
import { startServer } from '../tests/support/server.mjs';
import { startLocalstripe, SECRET_KEY } from '../tests/support/localstripe.mjs';

const CLIENTS = Number(process.env.KASSA_BENCH_CLIENTS ?? 16);
const SECONDS = Number(process.env.KASSA_BENCH_SECONDS ?? 10);

async function rate(name, makeClient) {
  const clients = Array.from({ length: CLIENTS }, makeClient);
  // A warm-up request each, so connections and caches are in place before the clock starts.
  await Promise.all(clients.map((c) => c.paymentIntents.create({ amount: 100, currency: 'usd', payment_method: 'pm_card_visa', confirm: true })));
  const until = Date.now() + SECONDS * 1000;
  let done = 0;
  let failed = 0;
  const started = performance.now();
  await Promise.all(clients.map(async (stripe, i) => {
    while (Date.now() < until) {
      try {
        const pi = await stripe.paymentIntents.create({ amount: 1000 + i, currency: 'usd', payment_method: 'pm_card_visa', confirm: true });
        if (pi.status === 'succeeded') done += 1;
        else failed += 1;
      } catch {
        failed += 1;
      }
    }
  }));
  const elapsed = (performance.now() - started) / 1000;
  return { name, perSecond: done / elapsed, done, failed };
}

const kassa = await startServer();
const localstripe = await startLocalstripe();
try {
  const { hostname, port } = new URL(kassa.url);
  const local = new URL(localstripe.url);
  // Each client as a shop's server makes it: its own instance, and so its own connections.
  const ours = await rate('Kassa (sandbox)', () => new Stripe(kassa.merchant.secretKey, { host: hostname, port: Number(port), protocol: 'http' }));
  const theirs = await rate('localstripe', () => new Stripe(SECRET_KEY, { host: local.hostname, port: Number(local.port), protocol: 'http' }));
  console.log(`\n### stripe-node \`paymentIntents.create({confirm: true})\`, ${CLIENTS} clients, ${SECONDS} s each\n`);
  console.log('| server | payments/s | succeeded | failed |');
  console.log('| --- | ---: | ---: | ---: |');
  for (const r of [ours, theirs]) console.log(`| ${r.name} | ${r.perSecond.toFixed(0)} | ${r.done} | ${r.failed} |`);
  console.log(`\nKassa / localstripe: **${(ours.perSecond / theirs.perSecond).toFixed(2)}×**`);
} finally {
  await kassa.stop();
  await localstripe.stop();
}
