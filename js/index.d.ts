// Types of the `kassa` npm package.

export type Currency = string;

export type IntentStatus =
  | 'requires_payment_method'
  | 'requires_action'
  | 'processing'
  | 'authorized'
  | 'captured'
  | 'partially_refunded'
  | 'refunded'
  | 'voided'
  | 'declined'
  | 'error'
  | 'resolved'
  | 'canceled';

export type CardBrand = 'visa' | 'mastercard' | 'amex' | 'discover' | 'diners' | 'jcb' | 'unionpay' | 'unknown';

export interface LineItem {
  name: string;
  unitAmountCents: number;
  quantity: number;
  description?: string;
}

export interface NextAction {
  type: 'three_ds_challenge';
  url: string;
  /** EMV 3-D Secure window size: '01'–'04' fixed sizes, '05' full screen. */
  challengeWindowSize: string;
}

export interface LastError {
  code: string;
  declineCode?: string;
  message: string;
}

export interface PaymentIntent {
  id: string;
  status: IntentStatus;
  amountCents: number;
  tipCents: number;
  capturedAmountCents: number;
  refundedAmountCents: number;
  currency: Currency;
  captureMethod: 'automatic' | 'manual';
  paymentMethodType: string | null;
  cardBrand: CardBrand | null;
  cardLast4: string | null;
  authCode: string | null;
  avsResponse: string | null;
  cvvResponse: string | null;
  providerReference: string | null;
  orderId: string | null;
  customerId: string | null;
  locationId: string | null;
  terminalId: string | null;
  lineItems: LineItem[];
  metadata: Record<string, unknown>;
  nextAction: NextAction | null;
  lastError: LastError | null;
  createdAt: string;
  updatedAt: string;
}

export interface CardSummary {
  brand: CardBrand;
  last4: string;
  expMonth: number;
  expYear: number;
  fingerprint: string;
}

/** A single-use card token (`tok_…`) for your server to charge. */
export interface CardToken {
  id: string;
  type: 'card';
  card: CardSummary;
  used: boolean;
  createdAt: string;
}

export interface SavedPaymentMethod {
  id: string;
  customerId: string;
  type: 'card';
  card: CardSummary;
  nickname: string | null;
  isDefault: boolean;
  createdAt: string;
}

export type KassaErrorType =
  | 'card_error'
  | 'validation_error'
  | 'authentication_error'
  | 'rate_limit_error'
  | 'idempotency_error'
  | 'invalid_request_error'
  | 'api_error'
  | 'api_connection_error';

export interface KassaError {
  type: KassaErrorType;
  /** Kassa's error code, e.g. `CARD_DECLINED`, `VALIDATION_ERROR`, `AUTHENTICATION_CANCELLED`. */
  code: string;
  /** Why the card was declined, e.g. `insufficient_funds`. */
  declineCode?: string;
  message: string;
  /** The field a validation error is about, e.g. `card.number`. */
  param?: string;
  paymentIntentId?: string;
  /** The HTTP status, when Kassa answered. */
  status?: number;
}

export type Result<K extends string, T> = ({ [P in K]: T } & { error?: undefined }) | ({ [P in K]?: undefined } & { error: KassaError });

export interface CardDetails {
  number: string;
  expMonth: number;
  expYear: number;
  cvc?: string;
  name?: string;
  postalCode?: string;
}

export type ConfirmPaymentParams = (
  | { card: CardDetails; paymentMethodId?: undefined }
  | { paymentMethodId: string; card?: undefined }
) & {
  /** Save the card to the intent's customer once the payment succeeds. */
  saveCard?: boolean;
  /** Where the 3-D Secure page sends the customer when it is not shown in a frame. */
  returnUrl?: string;
  /** Drive a 3-D Secure challenge to its end (default true), or resolve with `requires_action`. */
  handleActions?: boolean;
};

export interface LoadKassaOptions {
  /** Where the Kassa server is; defaults to the page's origin in a browser. */
  apiBase?: string;
}

export interface Appearance {
  theme?: 'light' | 'dark';
  /** CSS variables of the checkout, e.g. `{ '--kassa-accent': '#0a7d5a' }`. */
  variables?: Record<`--kassa-${string}`, string>;
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

export interface CheckoutEvents {
  ready: { amountCents: number; currency: Currency };
  change: { complete: boolean; brand: CardBrand };
  success: { paymentIntent: PaymentIntent };
  error: { error: KassaError };
}

export interface MountedCheckout {
  readonly iframe: HTMLIFrameElement;
  on<E extends keyof CheckoutEvents>(event: E, listener: (detail: CheckoutEvents[E]) => void): MountedCheckout;
  off<E extends keyof CheckoutEvents>(event: E, listener: (detail: CheckoutEvents[E]) => void): MountedCheckout;
  /** Changes the locale or appearance, and shows the amount your server now holds for the intent. */
  update(changes?: { locale?: 'en' | 'de'; appearance?: Appearance }): void;
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
