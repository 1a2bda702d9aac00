// A merchant's page script, type-checked against the package's declarations.
import { loadKassa, formatAmount, toMinorUnits, verifyWebhookSignature, cardBrand, validateCardNumber } from 'kassa';
import type { Kassa, PaymentIntent, PaymentIntentId, Currency, KassaError, SavedPaymentMethod, CardBrand } from 'kassa';

async function pay(clientSecret: string): Promise<PaymentIntent | KassaError> {
  const kassa: Kassa = await loadKassa('pk_test_123', { apiBase: 'https://pay.example.com' });
  const loaded: Promise<void> = kassa.ready();
  await loaded;
  const { paymentIntent, error } = await kassa.confirmPayment(clientSecret, {
    card: { number: '4242 4242 4242 4242', expMonth: 12, expYear: 2030, cvc: '123', postalCode: '94107' },
    saveCard: true,
  });
  if (error) {
    const reason: string = error.declineCode ?? error.message;
    console.log(error.type === 'card_error' ? `Declined: ${reason}` : error.code);
    return error;
  }
  const captured: boolean = paymentIntent.status === 'captured';
  console.log(captured, formatAmount(paymentIntent.amountCents, paymentIntent.currency, 'de-DE'));
  return paymentIntent;
}

async function savedCards(kassa: Kassa, customerSession: string): Promise<SavedPaymentMethod[]> {
  const listed = await kassa.listPaymentMethods({ customerSession });
  if (listed.error) return [];
  const first = listed.paymentMethods[0];
  if (first) {
    await kassa.confirmPayment('pi_1_secret_2', { paymentMethodId: first.id, handleActions: false });
    const { deleted } = await kassa.detachPaymentMethod(first.id, { customerSession });
    console.log(deleted === true);
  }
  const { paymentMethod } = await kassa.createPaymentMethod({ card: { number: '4242424242424242', expMonth: 1, expYear: 2031 } });
  console.log(paymentMethod?.card.last4);
  return listed.paymentMethods;
}

async function embed(kassa: Kassa, clientSecret: string) {
  const checkout = kassa.mountCheckout('#checkout', { clientSecret, locale: 'de', appearance: { theme: 'dark', variables: { '--kassa-accent': '#0a7d5a' } } });
  checkout.on('success', ({ paymentIntent }) => console.log(paymentIntent.capturedAmountCents)).on('error', ({ error }) => console.log(error.code));
  checkout.update({ locale: 'en' });
  // @ts-expect-error: not a checkout event.
  checkout.on('paid', () => {});
  checkout.destroy();
}
console.log(embed);

const cents: number = toMinorUnits('26.98', 'USD');
const brand: CardBrand = cardBrand('4242');
const valid: boolean = validateCardNumber('4242424242424242');
const verified: true = verifyWebhookSignature('{"id":"evt_1"}', 't=1,v1=00', 'whsec_x', { toleranceSeconds: 60 });
console.log(pay, savedCards, cents, brand, valid, verified);

// @ts-expect-error: a card and a saved card at once is not a confirmation.
void ({} as Kassa).confirmPayment('s', { card: { number: '1', expMonth: 1, expYear: 1 }, paymentMethodId: 'pm_1' });
// @ts-expect-error: amounts are numbers of minor units.
formatAmount('26.98', 'USD');

// The wire types are generated from the Rust ones: typed ids, the whole intent, the kiosk's tip.
function contract(intent: PaymentIntent): PaymentIntentId {
  const resolved: boolean = intent.resolution?.paidByOtherMeans ?? false;
  const currency: Currency = intent.currency;
  console.log(resolved, currency);
  void ({} as Kassa).confirmPayment('s', { paymentMethodId: 'pm_1', tipCents: 200 });
  // @ts-expect-error: an order's id does not name a payment intent.
  const wrong: PaymentIntentId = 'ord_1';
  // @ts-expect-error: not a currency Kassa takes.
  const nowhere: Currency = 'XYZ';
  console.log(wrong, nowhere);
  return intent.id;
}
console.log(contract);
