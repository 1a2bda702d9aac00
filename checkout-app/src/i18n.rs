//! The checkout's words in English and German.

pub fn supported(locale: &str) -> bool {
    matches!(locale, "en" | "de")
}

/// The locale for `Intl` number formatting.
pub fn intl(locale: &str) -> &'static str {
    match locale {
        "de" => "de-DE",
        _ => "en-US",
    }
}

/// Every text the checkout shows. Each has its English and its German words in
/// [`Text::words`], so a text without a translation does not compile.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Text {
    Title,
    Summary,
    Subtotal,
    Tip,
    Total,
    CardNumber,
    Expiry,
    Cvc,
    Name,
    Postal,
    Pay,
    Processing,
    SaveCard,
    SavedCards,
    NewCard,
    Ending,
    Success,
    SuccessText,
    Failed,
    Loading,
    ErrNumber,
    ErrExpiry,
    ErrExpired,
    ErrCvc,
    Declined,
    InsufficientFunds,
    ExpiredCard,
    IncorrectCvc,
    AuthenticationFailed,
    TryAnother,
    ErrorGeneric,
    BankCheck,
    Cancel,
    TipTitle,
    NoTip,
    Custom,
    CustomLabel,
    ErrTipAmount,
    Continue,
    Receipt,
    AuthCode,
    Done,
    Card,
}

impl Text {
    /// English, German.
    fn words(self) -> (&'static str, &'static str) {
        match self {
            Text::Title => ("Checkout", "Bezahlen"),
            Text::Summary => ("Order summary", "Bestellübersicht"),
            Text::Subtotal => ("Subtotal", "Zwischensumme"),
            Text::Tip => ("Tip", "Trinkgeld"),
            Text::Total => ("Total", "Gesamt"),
            Text::CardNumber => ("Card number", "Kartennummer"),
            Text::Expiry => ("Expiry (MM/YY)", "Gültig bis (MM/JJ)"),
            Text::Cvc => ("Security code", "Prüfnummer"),
            Text::Name => ("Name on card", "Name auf der Karte"),
            Text::Postal => ("Postal code", "Postleitzahl"),
            Text::Pay => ("Pay", "Bezahlen"),
            Text::Processing => ("Processing…", "Wird bezahlt …"),
            Text::SaveCard => ("Save this card for next time", "Karte für das nächste Mal speichern"),
            Text::SavedCards => ("Saved cards", "Gespeicherte Karten"),
            Text::NewCard => ("Use a new card", "Neue Karte"),
            Text::Ending => ("ending in", "endet auf"),
            Text::Success => ("Payment complete", "Zahlung erfolgreich"),
            Text::SuccessText => ("Thank you! Your payment went through.", "Vielen Dank! Ihre Zahlung ist eingegangen."),
            Text::Failed => ("Payment could not be completed", "Zahlung nicht möglich"),
            Text::Loading => ("Loading…", "Wird geladen …"),
            Text::ErrNumber => ("Enter a valid card number.", "Bitte eine gültige Kartennummer eingeben."),
            Text::ErrExpiry => ("Enter a valid expiry date.", "Bitte ein gültiges Ablaufdatum eingeben."),
            Text::ErrExpired => ("This card has expired.", "Diese Karte ist abgelaufen."),
            Text::ErrCvc => ("Enter the card's security code.", "Bitte die Prüfnummer eingeben."),
            Text::Declined => ("Your card was declined.", "Die Karte wurde abgelehnt."),
            Text::InsufficientFunds => ("Your card has insufficient funds.", "Die Karte ist nicht ausreichend gedeckt."),
            Text::ExpiredCard => ("Your card has expired.", "Die Karte ist abgelaufen."),
            Text::IncorrectCvc => ("The security code is incorrect.", "Die Prüfnummer ist falsch."),
            Text::AuthenticationFailed => ("Your bank did not confirm the payment.", "Die Bank hat die Zahlung nicht bestätigt."),
            Text::TryAnother => ("Please try another card.", "Bitte eine andere Karte versuchen."),
            Text::ErrorGeneric => ("Something went wrong. Please try again.", "Etwas ist schiefgelaufen. Bitte erneut versuchen."),
            Text::BankCheck => ("Confirm this payment with your bank", "Zahlung bei Ihrer Bank bestätigen"),
            Text::Cancel => ("Cancel", "Abbrechen"),
            Text::TipTitle => ("Would you like to add a tip?", "Möchten Sie Trinkgeld geben?"),
            Text::NoTip => ("No tip", "Kein Trinkgeld"),
            Text::Custom => ("Custom amount", "Eigener Betrag"),
            Text::CustomLabel => ("Tip amount", "Trinkgeld-Betrag"),
            Text::ErrTipAmount => ("Enter a valid amount.", "Bitte einen gültigen Betrag eingeben."),
            Text::Continue => ("Continue", "Weiter"),
            Text::Receipt => ("Receipt", "Beleg"),
            Text::AuthCode => ("Authorization", "Autorisierung"),
            Text::Done => ("Done", "Fertig"),
            Text::Card => ("Card", "Karte"),
        }
    }
}

pub fn t(locale: &str, text: Text) -> &'static str {
    let (en, de) = text.words();
    if locale == "de" {
        de
    } else {
        en
    }
}

/// What a decline means to the customer.
pub fn decline(locale: &str, decline_code: Option<&str>) -> &'static str {
    let text = match decline_code {
        Some("insufficient_funds") => Text::InsufficientFunds,
        Some("expired_card") => Text::ExpiredCard,
        Some("incorrect_cvc") => Text::IncorrectCvc,
        Some("authentication_failed") => Text::AuthenticationFailed,
        _ => Text::Declined,
    };
    t(locale, text)
}
