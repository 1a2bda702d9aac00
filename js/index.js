// Kassa for browsers and Node. A page that only mounts the checkout downloads this file alone: the
// WebAssembly core (and its glue) loads on the first call that needs it, or on ready(), and the
// 3-D Secure modal when a challenge opens. Importing this module is safe during server-side
// rendering.
const WASM_ATTEMPTS = 3;
let loading = null;
let core = null;

const isNode = () => typeof process !== 'undefined' && !!process.versions?.node && typeof window === 'undefined';
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

function kassaError(code, message, type = 'validation_error') {
  return Object.assign(new Error(message), { code, type });
}

async function wasmSource() {
  const url = new URL('./wasm/kassa_bg.wasm', import.meta.url);
  if (isNode()) {
    const { readFile } = await import('node:fs/promises');
    return readFile(url);
  }
  const response = await fetch(url);
  if (!response.ok) throw new Error(`HTTP ${response.status} for ${url}`);
  return response;
}

/**
 * Loads the WebAssembly core once; a failed download is retried with backoff. Every call that
 * needs the core waits for it; the synchronous helpers (`validateCardNumber`, `cardBrand`,
 * `formatAmount`, `toMinorUnits`, `verifyWebhookSignature`) need it loaded first.
 */
export function ready() {
  loading ??= (async () => {
    let lastError;
    for (let attempt = 0; attempt < WASM_ATTEMPTS; attempt++) {
      try {
        const glue = await import('./wasm/kassa.js');
        await glue.default({ module_or_path: await wasmSource() });
        core = glue;
        return;
      } catch (error) {
        lastError = error;
        if (attempt + 1 < WASM_ATTEMPTS) await sleep(250 * 2 ** attempt);
      }
    }
    loading = null;
    throw kassaError('wasm_load_failed', `Kassa could not load its WebAssembly: ${lastError?.message}`, 'api_connection_error');
  })();
  return loading;
}

function loadedCore() {
  if (!core) throw kassaError('not_ready', 'Kassa’s WebAssembly core is not loaded yet: await ready() (or kassa.ready()) first', 'invalid_request_error');
  return core;
}

function randomKey() {
  const bytes = new Uint8Array(16);
  globalThis.crypto.getRandomValues(bytes);
  return Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
}

async function presentChallenge(url, windowSize) {
  if (typeof document === 'undefined') return 'unavailable';
  try {
    const { openChallenge } = await import('./challenge.js');
    return await openChallenge(url, windowSize);
  } catch {
    return 'unavailable';
  }
}

/**
 * Carries out a flow of the core, step by step: it asks for a request, a wait or a 3-D Secure page
 * and is told what came of it, until it ends with `{done}` or `{error}`.
 */
async function run(flow) {
  try {
    let step = flow.start();
    for (;;) {
      if (step.send) {
        const { method, url, headers, body } = step.send;
        let response;
        try {
          const answer = await globalThis.fetch(url, { method, headers, body });
          response = { status: answer.status, body: await answer.text() };
        } catch (error) {
          step = flow.onNoAnswer(String(error?.message ?? error));
          continue;
        }
        step = flow.onResponse(response.status, response.body);
      } else if (step.sleep !== undefined) {
        await sleep(step.sleep);
        step = flow.onSlept();
      } else if (step.challenge) {
        step = flow.onChallenge(await presentChallenge(step.challenge.url, step.challenge.windowSize));
      } else {
        return step;
      }
    }
  } finally {
    flow.free();
  }
}

const CHECKOUT_EVENTS = ['ready', 'change', 'success', 'error'];

class Kassa {
  #api = null;
  #publishableKey;
  #apiBase;

  constructor(publishableKey, apiBase) {
    this.#publishableKey = publishableKey;
    this.#apiBase = apiBase;
  }

  /** Runs the flow `start` makes, loading the core first if need be: `{[name]: data}` or `{error}`. */
  async #call(name, start) {
    await ready();
    this.#api ??= new core.KassaApi(this.#publishableKey, this.#apiBase);
    const { done, error } = await run(start(this.#api));
    return error ? { error } : { [name]: done };
  }

  /** Loads the WebAssembly core, which the synchronous helpers need. */
  ready() {
    return ready();
  }

  /**
   * Mounts Kassa's checkout in an iframe inside `target` (an element or a selector). The iframe
   * sizes itself to its content. Returns `{ on(event, fn), update(changes), destroy() }`; events
   * are `ready`, `change`, `success` and `error`.
   */
  mountCheckout(target, options = {}) {
    if (typeof document === 'undefined') throw kassaError('no_dom', 'mountCheckout needs a browser page', 'invalid_request_error');
    const container = typeof target === 'string' ? document.querySelector(target) : target;
    if (!container) throw kassaError('mount_target_missing', `mountCheckout found no element for ${target}`);
    if (!options.clientSecret) throw kassaError('missing_client_secret', 'mountCheckout needs options.clientSecret');
    const origin = new URL(this.#apiBase).origin;
    const params = new URLSearchParams({ clientSecret: options.clientSecret, pk: this.#publishableKey, parentOrigin: location.origin });
    if (options.customerSession) params.set('customerSession', options.customerSession);
    if (options.locale) params.set('locale', options.locale);
    if (options.mode) params.set('mode', options.mode);
    if (options.appearance?.theme) params.set('theme', options.appearance.theme);
    for (const [name, value] of Object.entries(options.appearance?.variables ?? {})) params.set(`var${name}`, value);

    const iframe = document.createElement('iframe');
    // The fragment never reaches a server or its logs.
    iframe.src = `${origin}/checkout/#${params}`;
    iframe.title = options.title ?? 'Secure payment form';
    iframe.setAttribute('scrolling', 'no');
    Object.assign(iframe.style, { display: 'block', width: '100%', height: '360px', border: '0', overflow: 'hidden', colorScheme: 'normal' });

    const listeners = Object.fromEntries(CHECKOUT_EVENTS.map((name) => [name, new Set()]));
    const onMessage = (event) => {
      if (event.origin !== origin || event.source !== iframe.contentWindow) return;
      const { source, type, ...detail } = event.data ?? {};
      if (source !== 'kassa-checkout') return;
      if (type === 'resize' && Number.isFinite(detail.height)) {
        iframe.style.height = `${Math.ceil(detail.height)}px`;
      } else if (listeners[type]) {
        for (const listener of listeners[type]) listener(detail);
      }
    };
    window.addEventListener('message', onMessage);
    container.append(iframe);
    return {
      iframe,
      on(event, listener) {
        if (!listeners[event]) throw kassaError('unknown_event', `checkout events are ${CHECKOUT_EVENTS.join(', ')}`);
        listeners[event].add(listener);
        return this;
      },
      off(event, listener) {
        listeners[event]?.delete(listener);
        return this;
      },
      /** Changes `locale` or `appearance`, and shows the amount the shop's server now holds. */
      update(changes = {}) {
        iframe.contentWindow?.postMessage({ source: 'kassa-parent', type: 'update', ...changes }, origin);
      },
      destroy() {
        window.removeEventListener('message', onMessage);
        iframe.remove();
      },
    };
  }

  /** Confirms a payment intent with `{ card }` or `{ paymentMethodId }`; resolves to `{ paymentIntent }` or `{ error }`. */
  confirmPayment(clientSecret, params = {}) {
    return this.#call('paymentIntent', (api) => api.confirmPayment(String(clientSecret), params, randomKey()));
  }

  handleNextAction(clientSecret) {
    return this.#call('paymentIntent', (api) => api.handleNextAction(String(clientSecret)));
  }

  retrievePaymentIntent(clientSecret) {
    return this.#call('paymentIntent', (api) => api.retrievePaymentIntent(String(clientSecret)));
  }

  /** Tokenizes a card; resolves to `{ paymentMethod }` (a single-use `tok_…`) or `{ error }`. */
  createPaymentMethod({ card } = {}) {
    return this.#call('paymentMethod', (api) => api.createPaymentMethod(card, randomKey()));
  }

  listPaymentMethods({ customerSession } = {}) {
    return this.#call('paymentMethods', (api) => api.listPaymentMethods(String(customerSession ?? '')));
  }

  async detachPaymentMethod(paymentMethodId, { customerSession } = {}) {
    const { error } = await this.#call('deleted', (api) => api.detachPaymentMethod(String(paymentMethodId), String(customerSession ?? ''), randomKey()));
    return error ? { error } : { deleted: true };
  }

  validateCardNumber = validateCardNumber;
  cardBrand = cardBrand;
  formatAmount = formatAmount;
  toMinorUnits = toMinorUnits;
}

/**
 * Kassa for a publishable key. `apiBase` defaults to the page's origin in a browser. Nothing more is
 * downloaded until a call needs it: `mountCheckout` needs no WebAssembly.
 */
export async function loadKassa(publishableKey, options = {}) {
  if (typeof publishableKey !== 'string' || !publishableKey.startsWith('pk_')) {
    throw kassaError('invalid_key', 'loadKassa needs a publishable key (pk_…); never put a secret key in a browser');
  }
  const apiBase = options.apiBase ?? (typeof location !== 'undefined' ? location.origin : undefined);
  if (!apiBase) throw kassaError('missing_api_base', 'loadKassa needs options.apiBase outside a browser');
  return new Kassa(publishableKey, apiBase);
}

export function validateCardNumber(number) {
  return loadedCore().validateCardNumber(String(number));
}

export function cardBrand(number) {
  return loadedCore().cardBrand(String(number));
}

/** `formatAmount(2698, 'USD', 'en-US')` → "$26.98", with the currency's own decimal places. */
export function formatAmount(amountCents, currency, locale) {
  const c = loadedCore();
  const exponent = c.currencyExponent(String(currency));
  const major = c.formatMajor(Number(amountCents), String(currency));
  return new Intl.NumberFormat(locale, {
    style: 'currency',
    currency: String(currency).toUpperCase(),
    minimumFractionDigits: exponent,
    maximumFractionDigits: exponent,
  }).format(major);
}

/** `toMinorUnits("26.98", "USD")` → 2698; too many decimals throws rather than rounds. */
export function toMinorUnits(amount, currency) {
  return loadedCore().toMinorUnits(String(amount), String(currency));
}

/**
 * Checks a webhook's `Kassa-Signature` header against the raw body. Returns true, or throws an
 * Error whose `code` is `malformed_header`, `timestamp_outside_tolerance` or `signature_mismatch`.
 */
export function verifyWebhookSignature(payload, header, secret, options = {}) {
  const body = typeof payload === 'string' ? payload : new TextDecoder().decode(payload);
  const now = options.now ?? Math.floor(Date.now() / 1000);
  return loadedCore().verifyWebhookSignature(body, String(header ?? ''), String(secret), now, options.toleranceSeconds ?? 300);
}
