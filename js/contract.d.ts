// Generated from the Rust contract types (crate `kassa`) by sdk/tests/typescript.rs. Do not edit:
// change the Rust types and run `KASSA_WRITE_TYPES=1 cargo test -p kassa --features typescript --test typescript`.

export type JsonValue = number | string | boolean | Array<JsonValue> | { [key in string]: JsonValue } | null;

export type PaymentIntentId = `pi_${string}`;

export type TokenId = `tok_${string}`;

export type PaymentMethodId = `pm_${string}`;

export type CustomerId = `cus_${string}`;

export type OrderId = `ord_${string}`;

export type Currency = "AUD" | "BHD" | "BRL" | "CAD" | "CHF" | "CLP" | "CNY" | "CZK" | "DKK" | "EUR" | "GBP" | "HKD" | "HUF" | "INR" | "ISK" | "JOD" | "JPY" | "KRW" | "KWD" | "MXN" | "NOK" | "NZD" | "OMR" | "PLN" | "SEK" | "SGD" | "TND" | "USD" | "VND" | "ZAR";

export type MinorUnits = number;

export type CardBrand = "visa" | "mastercard" | "amex" | "discover" | "diners" | "jcb" | "unionpay" | "unknown";

export type IntentStatus = "requires_payment_method" | "requires_action" | "processing" | "authorized" | "captured" | "partially_refunded" | "refunded" | "voided" | "declined" | "error" | "resolved" | "canceled";

export type CaptureMethod = "automatic" | "manual";

export type LineItem = { name: string, unitAmountCents: MinorUnits, quantity: number, description?: string, };

export type NextAction = { 
/**
 * Always `three_ds_challenge`.
 */
type: "three_ds_challenge", url: string, challengeWindowSize: string, };

export type ErrorCode = "VALIDATION_ERROR" | "UNAUTHENTICATED" | "CARD_DECLINED" | "FORBIDDEN" | "NOT_FOUND" | "METHOD_NOT_ALLOWED" | "INVALID_STATE" | "DUPLICATE_REQUEST" | "PAYLOAD_TOO_LARGE" | "RATE_LIMITED" | "INTERNAL" | "PROVIDER_ERROR" | "SERVICE_UNAVAILABLE" | "PROVIDER_TIMEOUT";

export type LastError = { code: ErrorCode, declineCode?: string, message: string, };

export type ResolutionKind = "resolved" | "dismissed";

export type Resolution = { resolution: ResolutionKind, reason: string | null, paidByOtherMeans: boolean, otherMeansType: string | null, resolvedAt: string, };

export type PaymentIntent = { id: PaymentIntentId, status: IntentStatus, 
/**
 * The amount before any tip, in minor units.
 */
amountCents: MinorUnits, tipCents: MinorUnits, capturedAmountCents: MinorUnits, refundedAmountCents: MinorUnits, currency: Currency, captureMethod: CaptureMethod, paymentMethodType: string | null, cardBrand: CardBrand | null, cardLast4: string | null, authCode: string | null, avsResponse: string | null, cvvResponse: string | null, providerReference: string | null, 
/**
 * The Kassa order this pays for.
 */
orderId: OrderId | null, 
/**
 * The shop's own reference, as it was given.
 */
reference: string | null, customerId: string | null, locationId: string | null, terminalId: string | null, lineItems: Array<LineItem>, metadata: { [key in string]: JsonValue }, nextAction: NextAction | null, lastError: LastError | null, 
/**
 * How a failed payment was closed by hand.
 */
resolution?: Resolution, 
/**
 * RFC 3339, UTC, milliseconds.
 */
createdAt: string, updatedAt: string, 
/**
 * Only in the response to the secret key that created the intent.
 */
clientSecret?: string, };

export type CardSummary = { brand: CardBrand, last4: string, expMonth: number, expYear: number, 
/**
 * The same card number gives the same fingerprint.
 */
fingerprint: string, };

export type CardToken = { id: TokenId, 
/**
 * Always `card`.
 */
type: "card", card: CardSummary, used: boolean, createdAt: string, };

export type SavedPaymentMethod = { id: PaymentMethodId, customerId: CustomerId, 
/**
 * Always `card`.
 */
type: "card", card: CardSummary, nickname: string | null, isDefault: boolean, createdAt: string, };

export type CardDetails = { number: string, expMonth: number, expYear: number, cvc?: string, name?: string, postalCode?: string, };

export type ConfirmParams = { card?: CardDetails, paymentMethodId?: string, saveCard?: boolean, returnUrl?: string, 
/**
 * Drive a 3-D Secure challenge to its end (the default), or return `requires_action`.
 */
handleActions?: boolean, 
/**
 * A tip on top of the intent's amount (a kiosk's tip screen).
 */
tipCents?: MinorUnits, 
/**
 * The origins of the pages this one is framed in, which the bank's 3-D Secure page must
 * admit (the checkout passes its shop page's origin).
 */
frameAncestors?: Array<string>, 
/**
 * The customer's session secret (from the shop's server), which paying with a saved card
 * (`payment_method_id`) or saving one (`save_card`) needs.
 */
customerSession?: string, };

export type ErrorType = "card_error" | "validation_error" | "authentication_error" | "rate_limit_error" | "idempotency_error" | "invalid_request_error" | "api_error" | "api_connection_error";

export type KassaError = { type: ErrorType, 
/**
 * Kassa's error code (`CARD_DECLINED`, …) or a client-side code.
 */
code: string, declineCode?: string, message: string, param?: string, paymentIntentId?: string, status?: number, };

export type CheckoutMessage = { "type": "ready", amountCents: MinorUnits, currency: Currency, } | { "type": "change", complete: boolean, brand: CardBrand, } | { "type": "success", paymentIntent: PaymentIntent, } | { "type": "error", error: KassaError, } | { "type": "resize", height: number, };

export type Theme = "light" | "dark";

export type Appearance = { theme?: Theme, 
/**
 * CSS variables of the checkout, e.g. `{ "--kassa-accent": "#0a7d5a" }`.
 */
variables?: Record<`--kassa-${string}`, string>, };

export type CheckoutUpdate = { locale?: string, appearance?: Appearance, };

export type ParentMessage = { "type": "update" } & CheckoutUpdate;

export type ChallengeMessage = { "type": "three_ds_complete" } | { "type": "three_ds_escape" };
