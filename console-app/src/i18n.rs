//! The console's words in English and German. Every text has both in [`Text::words`], so a text
//! without a translation does not compile.

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Locale {
    En,
    De,
}

impl Locale {
    pub fn code(self) -> &'static str {
        match self {
            Locale::En => "en",
            Locale::De => "de",
        }
    }

    pub fn parse(text: &str) -> Option<Locale> {
        match text.get(..2)? {
            "en" => Some(Locale::En),
            "de" => Some(Locale::De),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Text {
    Console,
    SkipToContent,
    MainNavigation,
    Payments,
    FailedPayments,
    Orders,
    Developers,
    SignOut,
    DarkTheme,
    LightTheme,
    Language,
    SignInTitle,
    Email,
    Password,
    SignIn,
    SetUpTitle,
    SetUpText,
    NewPassword,
    PasswordRule,
    SetPassword,
    SessionEnded,
    WrongCredentials,
    Loading,
    Search,
    Filters,
    Clear,
    Status,
    AnyStatus,
    DateFrom,
    DateTo,
    AmountMin,
    AmountMax,
    Currency,
    AnyCurrency,
    Last4,
    Customer,
    Order,
    Location,
    Amount,
    Card,
    Created,
    NoPayments,
    More,
    Back,
    Details,
    Tip,
    Captured,
    Refunded,
    AuthCode,
    Avs,
    Cvc,
    ProviderReference,
    Reference,
    History,
    Type,
    Result,
    Response,
    By,
    When,
    Actions,
    Capture,
    Void,
    Refund,
    AdjustTip,
    Reason,
    Cancel,
    ConfirmCapture,
    ConfirmVoid,
    ConfirmRefund,
    ConfirmTip,
    Done,
    NotFound,
    Error,
    InvalidAmount,
    NoActions,
    LastError,
    Resolution,
    Total,
    Declined,
    Errors,
    Retry,
    RetryCard,
    OriginalCard,
    ConfirmRetry,
    Resolve,
    PaidBy,
    NotPaid,
    ConfirmResolvePaid,
    ConfirmDismiss,
    Balance,
    LineItems,
    Item,
    Quantity,
    UnitPrice,
    Ledger,
    Method,
    Entry,
    TransactionRef,
    Note,
    RecordedBy,
    ChangedBy,
    RecordPayment,
    ConfirmRecord,
    MarkReceived,
    ConfirmReceived,
    Correct,
    ConfirmCorrect,
    Reverse,
    ConfirmReverse,
    Remove,
    ConfirmRemove,
    BackToOrders,
    NoOrders,
    EntryStatus,
    AnyOrderStatus,
    ApiKeys,
    Name,
    KeyKind,
    KeyHint,
    Permissions,
    Expires,
    Never,
    EveryPermission,
    BrowserPermissions,
    EveryEvent,
    Revoked,
    CreateKey,
    ConfirmCreateKey,
    Roll,
    KeepOldFor,
    Immediately,
    OneHour,
    OneDay,
    ConfirmRoll,
    Revoke,
    ConfirmRevoke,
    ShownOnce,
    Close,
    Webhooks,
    Url,
    Events,
    AddEndpoint,
    ConfirmAddEndpoint,
    Delete,
    ConfirmDeleteEndpoint,
    Attempts,
    StatusCode,
    SendAgain,
    ConfirmSendAgain,
    EventLog,
    Event,
    NoneYet,
    NoFailed,
}

impl Text {
    /// English, German.
    pub fn words(self) -> Words {
        use Text::*;
        match self {
            Console => ("Kassa console", "Kassa-Konsole"),
            SkipToContent => ("Skip to content", "Zum Inhalt springen"),
            MainNavigation => ("Main", "Hauptnavigation"),
            Payments => ("Payments", "Zahlungen"),
            FailedPayments => ("Failed payments", "Fehlgeschlagene Zahlungen"),
            Orders => ("Orders", "Bestellungen"),
            Developers => ("Developers", "Entwickler"),
            SignOut => ("Sign out", "Abmelden"),
            DarkTheme => ("Dark theme", "Dunkles Design"),
            LightTheme => ("Light theme", "Helles Design"),
            Language => ("Deutsch", "English"),
            SignInTitle => ("Sign in to Kassa", "Bei Kassa anmelden"),
            Email => ("Email", "E-Mail"),
            Password => ("Password", "Passwort"),
            SignIn => ("Sign in", "Anmelden"),
            SetUpTitle => ("Choose your password", "Passwort festlegen"),
            SetUpText => (
                "Your account is ready. Choose a password to sign in with.",
                "Ihr Konto ist bereit. Legen Sie ein Passwort für die Anmeldung fest.",
            ),
            NewPassword => ("New password", "Neues Passwort"),
            PasswordRule => ("At least 12 characters.", "Mindestens 12 Zeichen."),
            SetPassword => ("Set password and sign in", "Passwort festlegen und anmelden"),
            SessionEnded => ("Your session ended. Sign in again.", "Ihre Sitzung ist abgelaufen. Bitte melden Sie sich erneut an."),
            WrongCredentials => ("Wrong email or password.", "E-Mail oder Passwort ist falsch."),
            Loading => ("Loading…", "Wird geladen…"),
            Search => ("Search", "Suchen"),
            Filters => ("Filters", "Filter"),
            Clear => ("Clear", "Zurücksetzen"),
            Status => ("Status", "Status"),
            AnyStatus => ("Any status", "Alle Status"),
            DateFrom => ("From date", "Von Datum"),
            DateTo => ("To date", "Bis Datum"),
            AmountMin => ("Amount from", "Betrag ab"),
            AmountMax => ("Amount to", "Betrag bis"),
            Currency => ("Currency", "Währung"),
            AnyCurrency => ("Any currency", "Alle Währungen"),
            Last4 => ("Card last 4", "Karte, letzte 4"),
            Customer => ("Customer", "Kunde"),
            Order => ("Order", "Bestellung"),
            Location => ("Location", "Standort"),
            Amount => ("Amount", "Betrag"),
            Card => ("Card", "Karte"),
            Created => ("Created", "Erstellt"),
            NoPayments => ("No payments match.", "Keine passenden Zahlungen."),
            More => ("Show more", "Mehr anzeigen"),
            Back => ("Back to payments", "Zurück zu den Zahlungen"),
            Details => ("Details", "Details"),
            Tip => ("Tip", "Trinkgeld"),
            Captured => ("Captured", "Eingezogen"),
            Refunded => ("Refunded", "Erstattet"),
            AuthCode => ("Authorization code", "Autorisierungscode"),
            Avs => ("Address check (AVS)", "Adressprüfung (AVS)"),
            Cvc => ("CVC check", "CVC-Prüfung"),
            ProviderReference => ("Processor reference", "Referenz des Zahlungsdienstes"),
            Reference => ("Reference", "Referenz"),
            History => ("History", "Verlauf"),
            Type => ("Step", "Schritt"),
            Result => ("Result", "Ergebnis"),
            Response => ("Response", "Antwort"),
            By => ("By", "Von"),
            When => ("When", "Wann"),
            Actions => ("Actions", "Aktionen"),
            Capture => ("Capture", "Einziehen"),
            Void => ("Void", "Stornieren"),
            Refund => ("Refund", "Erstatten"),
            AdjustTip => ("Adjust tip", "Trinkgeld ändern"),
            Reason => ("Reason", "Grund"),
            Cancel => ("Cancel", "Abbrechen"),
            ConfirmCapture => ("Capture {amount}?", "{amount} einziehen?"),
            ConfirmVoid => ("Void this payment and release {amount}?", "Diese Zahlung stornieren und {amount} freigeben?"),
            ConfirmRefund => ("Refund {amount} to the card?", "{amount} auf die Karte erstatten?"),
            ConfirmTip => ("Set the tip to {amount}?", "Trinkgeld auf {amount} setzen?"),
            Done => ("Done.", "Erledigt."),
            NotFound => ("Nothing here.", "Hier ist nichts."),
            Error => ("Something went wrong", "Etwas ist schiefgelaufen"),
            InvalidAmount => ("Enter an amount like 12.50, at most {amount}.", "Geben Sie einen Betrag wie 12,50 ein, höchstens {amount}."),
            NoActions => ("Nothing can be done with this payment now.", "Mit dieser Zahlung ist gerade nichts möglich."),
            LastError => ("Last error", "Letzter Fehler"),
            Resolution => ("Resolved as", "Erledigt als"),
            Total => ("Total", "Gesamt"),
            Declined => ("Declined", "Abgelehnt"),
            Errors => ("Errors", "Fehler"),
            Retry => ("Retry", "Erneut versuchen"),
            RetryCard => ("Card", "Karte"),
            OriginalCard => ("The original card", "Die ursprüngliche Karte"),
            ConfirmRetry => ("Charge {amount} again?", "{amount} erneut belasten?"),
            Resolve => ("Resolve", "Erledigen"),
            PaidBy => ("Paid by", "Bezahlt mit"),
            NotPaid => ("Not paid: close it", "Nicht bezahlt: schließen"),
            ConfirmResolvePaid => ("Mark {amount} as paid another way?", "{amount} als anders bezahlt markieren?"),
            ConfirmDismiss => ("Close this payment of {amount} unpaid?", "Diese Zahlung über {amount} unbezahlt schließen?"),
            Balance => ("Balance due", "Offener Betrag"),
            LineItems => ("Items", "Positionen"),
            Item => ("Item", "Artikel"),
            Quantity => ("Quantity", "Menge"),
            UnitPrice => ("Unit price", "Einzelpreis"),
            Ledger => ("Payments", "Zahlungen"),
            Method => ("Method", "Zahlungsart"),
            Entry => ("Entry", "Buchung"),
            TransactionRef => ("Transaction reference", "Transaktionsreferenz"),
            Note => ("Note", "Notiz"),
            RecordedBy => ("Recorded by", "Erfasst von"),
            ChangedBy => ("Changed by", "Geändert von"),
            RecordPayment => ("Record a payment", "Zahlung erfassen"),
            ConfirmRecord => ("Record {amount} on this order?", "{amount} für diese Bestellung erfassen?"),
            MarkReceived => ("Mark received", "Als erhalten markieren"),
            ConfirmReceived => ("Mark {amount} as received?", "{amount} als erhalten markieren?"),
            Correct => ("Correct", "Korrigieren"),
            ConfirmCorrect => ("Change this payment to {amount}?", "Diese Zahlung auf {amount} ändern?"),
            Reverse => ("Reverse", "Stornieren"),
            ConfirmReverse => ("Reverse this payment of {amount}?", "Diese Zahlung über {amount} stornieren?"),
            Remove => ("Remove", "Entfernen"),
            ConfirmRemove => ("Remove this pending payment of {amount}?", "Diese ausstehende Zahlung über {amount} entfernen?"),
            BackToOrders => ("Back to orders", "Zurück zu den Bestellungen"),
            NoOrders => ("No orders match.", "Keine passenden Bestellungen."),
            EntryStatus => ("State", "Stand"),
            AnyOrderStatus => ("Any status", "Alle Status"),
            ApiKeys => ("API keys", "API-Schlüssel"),
            Name => ("Name", "Name"),
            KeyKind => ("Kind", "Art"),
            KeyHint => ("Key", "Schlüssel"),
            Permissions => ("Permissions", "Berechtigungen"),
            Expires => ("Stops working", "Gültig bis"),
            Never => ("Never", "Unbegrenzt"),
            EveryPermission => ("Every permission", "Alle Berechtigungen"),
            BrowserPermissions => ("Card forms in the browser", "Kartenformulare im Browser"),
            EveryEvent => ("Every event", "Alle Ereignisse"),
            Revoked => ("Revoked", "Widerrufen"),
            CreateKey => ("Create a restricted key", "Eingeschränkten Schlüssel erstellen"),
            ConfirmCreateKey => {
                ("Create a restricted key with these permissions?", "Eingeschränkten Schlüssel mit diesen Berechtigungen erstellen?")
            }
            Roll => ("Roll", "Erneuern"),
            KeepOldFor => ("The old key keeps working", "Der alte Schlüssel gilt noch"),
            Immediately => ("Not at all", "Gar nicht"),
            OneHour => ("For an hour", "Eine Stunde"),
            OneDay => ("For a day", "Einen Tag"),
            ConfirmRoll => ("Make a new key in place of this one?", "Einen neuen Schlüssel an Stelle dieses erstellen?"),
            Revoke => ("Revoke", "Widerrufen"),
            ConfirmRevoke => {
                ("Revoke this key? Requests with it fail at once.", "Diesen Schlüssel widerrufen? Anfragen damit schlagen sofort fehl.")
            }
            ShownOnce => ("Copy it now: it is shown only this once.", "Jetzt kopieren: Er wird nur dieses eine Mal gezeigt."),
            Close => ("Close", "Schließen"),
            Webhooks => ("Webhook endpoints", "Webhook-Endpunkte"),
            Url => ("URL", "URL"),
            Events => ("Events", "Ereignisse"),
            AddEndpoint => ("Add an endpoint", "Endpunkt hinzufügen"),
            ConfirmAddEndpoint => ("Send events to this URL?", "Ereignisse an diese URL senden?"),
            Delete => ("Delete", "Löschen"),
            ConfirmDeleteEndpoint => ("Stop sending events to this endpoint?", "Keine Ereignisse mehr an diesen Endpunkt senden?"),
            Attempts => ("Delivery attempts", "Zustellversuche"),
            StatusCode => ("Answer", "Antwort"),
            SendAgain => ("Send again", "Erneut senden"),
            ConfirmSendAgain => ("Send this event to the endpoint again?", "Dieses Ereignis erneut an den Endpunkt senden?"),
            EventLog => ("Events", "Ereignisse"),
            Event => ("Event", "Ereignis"),
            NoneYet => ("None yet.", "Noch keine."),
            NoFailed => ("No failed payments.", "Keine fehlgeschlagenen Zahlungen."),
        }
    }

    pub fn get(self, locale: Locale) -> &'static str {
        pick(self.words(), locale)
    }
}

/// A text in both languages: English, German.
pub type Words = (&'static str, &'static str);

pub fn pick(words: Words, locale: Locale) -> &'static str {
    if locale == Locale::De {
        words.1
    } else {
        words.0
    }
}

/// A payment's status, by its name on the wire.
pub fn status(status: &str) -> Words {
    match status {
        "requires_payment_method" => ("Awaiting card", "Wartet auf Karte"),
        "requires_action" => ("Awaiting 3-D Secure", "Wartet auf 3-D Secure"),
        "processing" => ("Processing", "In Bearbeitung"),
        "authorized" => ("Authorized", "Autorisiert"),
        "captured" => ("Captured", "Eingezogen"),
        "partially_refunded" => ("Partially refunded", "Teilweise erstattet"),
        "refunded" => ("Refunded", "Erstattet"),
        "voided" => ("Voided", "Storniert"),
        "declined" => ("Declined", "Abgelehnt"),
        "error" => ("Error", "Fehler"),
        "resolved" => ("Resolved", "Erledigt"),
        "canceled" => ("Canceled", "Abgebrochen"),
        _ => ("", ""),
    }
}

/// The statuses a search can ask for, in the order offered.
pub const STATUSES: [&str; 12] = [
    "authorized",
    "captured",
    "partially_refunded",
    "refunded",
    "voided",
    "declined",
    "error",
    "resolved",
    "requires_payment_method",
    "requires_action",
    "processing",
    "canceled",
];

/// A step of a payment's history (`type` of a transaction).
pub fn step(kind: &str) -> Words {
    match kind {
        "authorize" => ("Authorization", "Autorisierung"),
        "capture" => ("Capture", "Einzug"),
        "void" => ("Void", "Storno"),
        "refund" => ("Refund", "Erstattung"),
        "tip_adjust" => ("Tip adjustment", "Trinkgeldänderung"),
        "three_ds" => ("3-D Secure", "3-D Secure"),
        _ => ("", ""),
    }
}

/// How a step ended (`status` of a transaction).
pub fn outcome(status: &str) -> Words {
    match status {
        "approved" => ("Approved", "Genehmigt"),
        "declined" => ("Declined", "Abgelehnt"),
        "pending" => ("Pending", "Ausstehend"),
        "error" => ("Error", "Fehler"),
        _ => ("", ""),
    }
}

/// An order's status.
pub fn order_status(status: &str) -> Words {
    match status {
        "open" => ("Open", "Offen"),
        "partially_paid" => ("Partially paid", "Teilweise bezahlt"),
        "paid" => ("Paid", "Bezahlt"),
        _ => ("", ""),
    }
}

/// A ledger payment's status.
pub fn entry_status(status: &str) -> Words {
    match status {
        "pending" => ("Pending", "Ausstehend"),
        "complete" => ("Received", "Erhalten"),
        "reversed" => ("Reversed", "Storniert"),
        _ => ("", ""),
    }
}

/// A ledger payment's kind.
pub fn entry(kind: &str) -> Words {
    match kind {
        "receipt" => ("Receipt", "Eingang"),
        "refund" => ("Refund", "Erstattung"),
        _ => ("", ""),
    }
}

/// How money came in, other than a card payment's own record.
pub const METHODS: [&str; 4] = ["cash", "cheque", "external", "card"];

pub fn method(method: &str) -> Words {
    match method {
        "cash" => ("Cash", "Bargeld"),
        "cheque" => ("Cheque", "Scheck"),
        "external" => ("Another way", "Auf anderem Weg"),
        "card" => ("Card", "Karte"),
        _ => ("", ""),
    }
}

/// A key's kind.
pub fn key_kind(kind: &str) -> Words {
    match kind {
        "secret" => ("Secret", "Geheim"),
        "restricted" => ("Restricted", "Eingeschränkt"),
        "publishable" => ("Publishable", "Öffentlich"),
        _ => ("", ""),
    }
}

/// How a delivery stands after an attempt.
pub fn delivery(status: &str) -> Words {
    match status {
        "delivered" => ("Delivered", "Zugestellt"),
        "retrying" => ("Retrying", "Wird wiederholt"),
        "failed" => ("Failed", "Fehlgeschlagen"),
        "pending" => ("Pending", "Ausstehend"),
        _ => ("", ""),
    }
}
