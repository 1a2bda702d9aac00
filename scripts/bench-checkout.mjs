// Time from navigation until the checkout's card form accepts input: the median of 20 cold loads
// (a fresh browser context each) in headless Chromium against a local kassa-server. The page
// itself notes the moment (a MutationObserver installed before the checkout's own scripts), so
// the figure holds no polling interval or round trip to the test.
import { startServer } from '../tests/support/server.mjs';
import { launchBrowser } from '../tests/support/browser.mjs';

const LOADS = Number(process.env.KASSA_BENCH_LOADS ?? 20);
const server = await startServer();
const browser = await launchBrowser();
try {
  const times = [];
  for (let i = 0; i < LOADS; i++) {
    const response = await fetch(`${server.url}/api/v1/payments/intents`, {
      method: 'POST',
      headers: { Authorization: `Bearer ${server.merchant.secretKey}`, 'Content-Type': 'application/json' },
      body: JSON.stringify({ amountCents: 2698, currency: 'EUR', lineItems: [{ name: 'Mug', unitAmountCents: 2698, quantity: 1 }] }),
    });
    const { data } = await response.json();
    const context = await browser.newContext();
    const page = await context.newPage();
    await page.addInitScript(() => {
      const usable = () => {
        const input = document.getElementById('card-number');
        return input && !input.disabled && input.getBoundingClientRect().height > 0;
      };
      new MutationObserver((_, observer) => {
        if (!usable()) return;
        window.kassaInputAt = performance.now();
        observer.disconnect();
      }).observe(document, { childList: true, subtree: true, attributes: true });
    });
    const fragment = new URLSearchParams({ clientSecret: data.clientSecret, pk: server.merchant.publishableKey });
    await page.goto(`${server.url}/checkout/#${fragment}`, { waitUntil: 'commit' });
    const at = await page.waitForFunction(() => window.kassaInputAt, null, { polling: 'raf' });
    times.push(await at.jsonValue());
    await context.close();
  }
  times.sort((a, b) => a - b);
  const median = (times[(times.length - 1) >> 1] + times[times.length >> 1]) / 2;
  console.log(`## Checkout: navigation until the card form accepts input (${LOADS} cold loads, headless Chromium, localhost)\n`);
  console.log('| figure | value |\n| --- | --- |');
  console.log(`| median | ${median.toFixed(0)} ms |`);
  console.log(`| fastest / slowest | ${times[0].toFixed(0)} ms / ${times.at(-1).toFixed(0)} ms |`);
  console.log('| aim | at most 150 ms |\n');
} finally {
  await browser.close();
  await server.stop();
}
