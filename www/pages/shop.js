// The demo shop's pages. They use the npm package (served at /sdk/) exactly as a merchant's would,
// and embed the checkout from Kassa's origin.
import { loadKassa, formatAmount, ready } from '/sdk/index.js';

const CART = 'kassa-demo-cart';
const cart = () => JSON.parse(localStorage.getItem(CART) ?? '{}');
const saveCart = (items) => localStorage.setItem(CART, JSON.stringify(items));
const lines = (items) => Object.entries(items).filter(([, q]) => q > 0).map(([sku, quantity]) => ({ sku, quantity }));

async function post(path, body) {
  const response = await fetch(path, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body ?? {}) });
  const data = await response.json();
  if (!response.ok) throw new Error(data.error?.message ?? `HTTP ${response.status}`);
  return data;
}

const config = await (await fetch('/demo/api/config')).json();
await ready();
const price = (cents) => formatAmount(cents, config.currency, document.documentElement.lang === 'de' ? 'de-DE' : 'en-US');
const product = (sku) => config.catalog.find((p) => p.sku === sku);
const total = (items) => lines(items).reduce((sum, l) => sum + product(l.sku).unitAmountCents * l.quantity, 0);

function element(tag, properties = {}, ...children) {
  const node = Object.assign(document.createElement(tag), properties);
  node.append(...children);
  return node;
}

function showCount() {
  const count = document.getElementById('cart-count');
  if (count) count.textContent = lines(cart()).reduce((n, l) => n + l.quantity, 0);
}

function productsPage() {
  const list = document.getElementById('products');
  for (const p of config.catalog) {
    const add = element('button', { type: 'button', textContent: 'Add to cart', ariaLabel: `Add ${p.name} to cart` });
    add.addEventListener('click', () => {
      const items = cart();
      items[p.sku] = (items[p.sku] ?? 0) + 1;
      saveCart(items);
      showCount();
    });
    list.append(element('li', {}, element('h2', { textContent: p.name }), element('p', { textContent: p.description }),
      element('span', { className: 'price', textContent: price(p.unitAmountCents) }), add));
  }
  showCount();
}

async function payPage() {
  let checkout = null;
  let clientSecret = null;
  const list = document.getElementById('cart');
  const status = document.getElementById('order-status');
  const render = () => {
    const items = cart();
    list.replaceChildren(...lines(items).map(({ sku, quantity }) => {
      const minus = element('button', { type: 'button', className: 'quiet', textContent: '−', ariaLabel: `One less ${product(sku).name}` });
      const plus = element('button', { type: 'button', className: 'quiet', textContent: '+', ariaLabel: `One more ${product(sku).name}` });
      minus.addEventListener('click', () => change(sku, -1));
      plus.addEventListener('click', () => change(sku, +1));
      return element('li', {}, element('span', { textContent: product(sku).name }),
        element('span', { className: 'qty' }, minus, element('span', { textContent: String(quantity) }), plus),
        element('span', { textContent: price(product(sku).unitAmountCents * quantity) }));
    }));
    document.getElementById('cart-total').textContent = price(total(items));
  };
  async function change(sku, delta) {
    const items = cart();
    items[sku] = Math.max(0, (items[sku] ?? 0) + delta);
    if (lines(items).length === 0) return;
    saveCart(items);
    render();
    if (checkout) {
      // The shop's server reprices the cart and updates the intent; the checkout shows it.
      await post('/demo/api/checkout/update', { clientSecret, items: lines(items) });
      checkout.update();
    }
  }
  render();
  const start = document.getElementById('start-checkout');
  document.getElementById('start').addEventListener('submit', async (event) => {
    event.preventDefault();
    if (checkout) return;
    const email = document.getElementById('email').value.trim();
    const session = await post('/demo/api/checkout', { items: lines(cart()), email: email || undefined });
    clientSecret = session.clientSecret;
    const kassa = await loadKassa(config.publishableKey, { apiBase: config.kassaUrl });
    const locale = document.getElementById('locale');
    const theme = document.getElementById('theme');
    checkout = kassa.mountCheckout('#checkout', { clientSecret, customerSession: session.customerSession, locale: locale.value, appearance: { theme: theme.value } });
    document.getElementById('prefs').hidden = false;
    document.getElementById('start-checkout').disabled = true;
    locale.addEventListener('change', () => checkout.update({ locale: locale.value }));
    theme.addEventListener('change', () => checkout.update({ appearance: { theme: theme.value } }));
    checkout.on('success', async ({ paymentIntent }) => {
      status.textContent = `Thank you! Payment received: ${price(paymentIntent.capturedAmountCents)}.`;
      status.dataset.intent = paymentIntent.id;
      saveCart({});
      // The shop's backend marks the order paid when Kassa's signed order.paid webhook arrives.
      for (let tries = 0; tries < 60; tries++) {
        const order = await (await fetch(`/demo/api/orders/${session.orderId}`)).json();
        if (order.status === 'paid') {
          status.textContent = `Thank you! Order ${session.orderId} is paid.`;
          status.dataset.order = 'paid';
          return;
        }
        await new Promise((resolve) => setTimeout(resolve, 250));
      }
    });
  });
  // Until now a click would have submitted the form natively and reloaded the page.
  start.disabled = false;
}

async function kioskPage() {
  const { clientSecret, publishableKey } = await post('/demo/api/kiosk');
  // The checkout runs full screen on Kassa's origin and comes back here for the next customer.
  const params = new URLSearchParams({ mode: 'kiosk', clientSecret, pk: publishableKey, restartUrl: `${location.origin}/kiosk.html` });
  const idle = new URLSearchParams(location.search).get('idleSeconds');
  if (idle) params.set('idleSeconds', idle);
  const locale = new URLSearchParams(location.search).get('locale');
  if (locale) params.set('locale', locale);
  location.replace(`${config.kassaUrl}/checkout/#${params}`);
}

({ products: productsPage, pay: payPage, kiosk: kioskPage })[document.body.dataset.page]?.();
