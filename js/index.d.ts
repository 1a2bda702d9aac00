// Types of the `kassa` npm package.

// The wire types (PaymentIntent, KassaError, ids, currencies, …) are generated from the Rust
// contract types into contract.d.ts; what follows is the package's own API.
import type { Appearance, CardDetails, CheckoutMessage, ConfirmParams, Currency, ErrorType, KassaError, CheckoutUpdate, PaymentIntent, CardToken, SavedPaymentMethod, CardBrand } from './contract.js';

export type * from './contract.js';

/** The kind of a `KassaError`, as Stripe.js names them. */
export type KassaErrorType = ErrorType;

export type Result<K extends string, T> = ({ [P in K]: T } & { error?: undefined }) | ({ [P in K]?: undefined } & { error: KassaError });

/** What `confirmPayment` takes: exactly one of a new `card` or a saved `paymentMethodId`. */
export type ConfirmPaymentParams = Omit<ConfirmParams, 'card' | 'paymentMethodId'> &
  ({ card: CardDetails; paymentMethodId?: undefined } | { paymentMethodId: string; card?: undefined });

export interface LoadKassaOptions {
  /** Where the Kassa server is; defaults to the page's origin in a browser. */
  apiBase?: string;
}

export interface MountCheckoutOptions {
  clientSecret: string;
  /** Shows the customer's saved cards and offers to save a new one. */
  customerSession?: string;
  appearance?: Appearance;
  /** `en` or `de`. */
  locale?: 'en' | 'de';
  /** `kiosk`: large touch targets, a tip screen, an idle timeout and a receipt. */
  mode?: 'kiosk';
  /** The iframe's accessible title. */
  title?: string;
}

/** The checkout's events, with what each tells: its messages (`CheckoutMessage`) but `resize`. */
export type CheckoutEvents = {
  [T in Exclude<CheckoutMessage['type'], 'resize'>]: Omit<Extract<CheckoutMessage, { type: T }>, 'type'>;
};

/** What `update` may change: a `CheckoutUpdate`, in a locale the checkout speaks. */
export type CheckoutChanges = Omit<CheckoutUpdate, 'locale'> & { locale?: 'en' | 'de' };

export interface MountedCheckout {
  readonly iframe: HTMLIFrameElement;
  on<E extends keyof CheckoutEvents>(event: E, listener: (detail: CheckoutEvents[E]) => void): MountedCheckout;
  off<E extends keyof CheckoutEvents>(event: E, listener: (detail: CheckoutEvents[E]) => void): MountedCheckout;
  /** Changes the locale or appearance, and shows the amount your server now holds for the intent. */
  update(changes?: CheckoutChanges): void;
  destroy(): void;
}

export interface Kassa {
  /** Mounts the checkout; this needs no WebAssembly, so a page that only mounts loads none. */
  mountCheckout(target: Element | string, options: MountCheckoutOptions): MountedCheckout;
  confirmPayment(clientSecret: string, params: ConfirmPaymentParams): Promise<Result<'paymentIntent', PaymentIntent>>;
  handleNextAction(clientSecret: string): Promise<Result<'paymentIntent', PaymentIntent>>;
  retrievePaymentIntent(clientSecret: string): Promise<Result<'paymentIntent', PaymentIntent>>;
  createPaymentMethod(params: { card: CardDetails }): Promise<Result<'paymentMethod', CardToken>>;
  listPaymentMethods(params: { customerSession: string }): Promise<Result<'paymentMethods', SavedPaymentMethod[]>>;
  detachPaymentMethod(paymentMethodId: string, params: { customerSession: string }): Promise<Result<'deleted', true>>;
  validateCardNumber: typeof validateCardNumber;
  cardBrand: typeof cardBrand;
  formatAmount: typeof formatAmount;
  toMinorUnits: typeof toMinorUnits;
  /** Loads the WebAssembly core, which the synchronous helpers need; the calls above load it themselves. */
  ready(): Promise<void>;
}

/** Kassa for a publishable key (`pk_…`); nothing more is downloaded until a call needs it. */
export function loadKassa(publishableKey: string, options?: LoadKassaOptions): Promise<Kassa>;

/**
 * Loads the WebAssembly core. Every call of a `Kassa` loads it when it needs it; the synchronous
 * helpers below need it loaded first, and throw `not_ready` before.
 */
export function ready(): Promise<void>;

/** Whether a whole card number is valid: its brand's length and the checksum. */
export function validateCardNumber(number: string): boolean;

/** The brand of a card number, from as few digits as are typed. */
export function cardBrand(number: string): CardBrand;

/** Formats minor units for people: `formatAmount(2698, 'USD', 'en-US')` → "$26.98". */
export function formatAmount(amountCents: number, currency: Currency, locale?: string): string;

/** Parses major units into minor units: `toMinorUnits("26.98", "USD")` → 2698. Throws on too many decimals. */
export function toMinorUnits(amount: string, currency: Currency): number;

export interface VerifyWebhookOptions {
  /** Seconds a signature stays valid (default 300). */
  toleranceSeconds?: number;
  /** The current time in unix seconds (default: now). */
  now?: number;
}

/**
 * Checks a webhook's `Kassa-Signature` header against the raw request body. Returns true, or throws
 * an Error whose `code` is `malformed_header`, `timestamp_outside_tolerance` or `signature_mismatch`.
 */
export function verifyWebhookSignature(payload: string | Uint8Array, header: string, secret: string, options?: VerifyWebhookOptions): true;
