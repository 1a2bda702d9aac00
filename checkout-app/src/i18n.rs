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

pub fn t(locale: &str, key: &str) -> &'static str {
    let de = locale == "de";
    match key {
        "title" => if de { "Bezahlen" } else { "Checkout" },
        "summary" => if de { "Bestellübersicht" } else { "Order summary" },
        "subtotal" => if de { "Zwischensumme" } else { "Subtotal" },
        "tip" => if de { "Trinkgeld" } else { "Tip" },
        "total" => if de { "Gesamt" } else { "Total" },
        "card_number" => if de { "Kartennummer" } else { "Card number" },
        "expiry" => if de { "Gültig bis (MM/JJ)" } else { "Expiry (MM/YY)" },
        "cvc" => if de { "Prüfnummer" } else { "Security code" },
        "name" => if de { "Name auf der Karte" } else { "Name on card" },
        "postal" => if de { "Postleitzahl" } else { "Postal code" },
        "pay" => if de { "Bezahlen" } else { "Pay" },
        "processing" => if de { "Wird bezahlt …" } else { "Processing…" },
        "save_card" => if de { "Karte für das nächste Mal speichern" } else { "Save this card for next time" },
        "saved_cards" => if de { "Gespeicherte Karten" } else { "Saved cards" },
        "new_card" => if de { "Neue Karte" } else { "Use a new card" },
        "ending" => if de { "endet auf" } else { "ending in" },
        "success" => if de { "Zahlung erfolgreich" } else { "Payment complete" },
        "success_text" => if de { "Vielen Dank! Ihre Zahlung ist eingegangen." } else { "Thank you! Your payment went through." },
        "failed" => if de { "Zahlung nicht möglich" } else { "Payment could not be completed" },
        "loading" => if de { "Wird geladen …" } else { "Loading…" },
        "err_number" => if de { "Bitte eine gültige Kartennummer eingeben." } else { "Enter a valid card number." },
        "err_expiry" => if de { "Bitte ein gültiges Ablaufdatum eingeben." } else { "Enter a valid expiry date." },
        "err_expired" => if de { "Diese Karte ist abgelaufen." } else { "This card has expired." },
        "err_cvc" => if de { "Bitte die Prüfnummer eingeben." } else { "Enter the card's security code." },
        "declined" => if de { "Die Karte wurde abgelehnt." } else { "Your card was declined." },
        "insufficient_funds" => if de { "Die Karte ist nicht ausreichend gedeckt." } else { "Your card has insufficient funds." },
        "expired_card" => if de { "Die Karte ist abgelaufen." } else { "Your card has expired." },
        "incorrect_cvc" => if de { "Die Prüfnummer ist falsch." } else { "The security code is incorrect." },
        "authentication_failed" => if de { "Die Bank hat die Zahlung nicht bestätigt." } else { "Your bank did not confirm the payment." },
        "try_another" => if de { "Bitte eine andere Karte versuchen." } else { "Please try another card." },
        "error_generic" => if de { "Etwas ist schiefgelaufen. Bitte erneut versuchen." } else { "Something went wrong. Please try again." },
        "bank_check" => if de { "Zahlung bei Ihrer Bank bestätigen" } else { "Confirm this payment with your bank" },
        "cancel" => if de { "Abbrechen" } else { "Cancel" },
        "tip_title" => if de { "Möchten Sie Trinkgeld geben?" } else { "Would you like to add a tip?" },
        "no_tip" => if de { "Kein Trinkgeld" } else { "No tip" },
        "custom" => if de { "Eigener Betrag" } else { "Custom amount" },
        "custom_label" => if de { "Trinkgeld-Betrag" } else { "Tip amount" },
        "continue" => if de { "Weiter" } else { "Continue" },
        "receipt" => if de { "Beleg" } else { "Receipt" },
        "auth_code" => if de { "Autorisierung" } else { "Authorization" },
        "done" => if de { "Fertig" } else { "Done" },
        "card" => if de { "Karte" } else { "Card" },
        _ => "",
    }
}

/// What a decline means to the customer.
pub fn decline(locale: &str, decline_code: Option<&str>) -> &'static str {
    match decline_code {
        Some(code @ ("insufficient_funds" | "expired_card" | "incorrect_cvc" | "authentication_failed")) => t(locale, code),
        _ => t(locale, "declined"),
    }
}
