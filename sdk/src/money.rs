//! Money as integer minor units, with ISO 4217 exponents. Floats never touch an amount: text in
//! major units becomes minor units digit by digit ("26.98" ⇄ 2698), exactly, at the edges.

use std::fmt;
use std::str::FromStr;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MoneyError {
    #[error("`{0}` is not a supported ISO 4217 currency code")]
    UnknownCurrency(String),
    #[error("`{0}` is not a decimal amount")]
    NotANumber(String),
    #[error("{currency} amounts have at most {exponent} decimal places, `{amount}` has more")]
    TooManyDecimals { amount: String, currency: Currency, exponent: u32 },
    #[error("`{0}` is too large")]
    TooLarge(String),
}

/// The largest amount Kassa accepts, in minor units (a hundred million major units at exponent 2).
pub const MAX_AMOUNT_CENTS: i64 = 10_000_000_000;

/// An amount in a currency's minor units: cents for EUR and USD, yen for JPY, fils for KWD (the
/// currency's exponent says how many make one unit). Every amount in the contract is one, so an
/// amount cannot be mixed up with a count or a unit price in major units; on the wire it is a
/// plain JSON integer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default, serde::Serialize, serde::Deserialize)]
#[serde(transparent)]
#[cfg_attr(feature = "typescript", derive(ts_rs::TS))]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct MinorUnits(pub i64);

impl MinorUnits {
    pub const fn get(self) -> i64 {
        self.0
    }
}

impl std::ops::Add for MinorUnits {
    type Output = MinorUnits;
    fn add(self, other: MinorUnits) -> MinorUnits {
        MinorUnits(self.0 + other.0)
    }
}

impl From<i64> for MinorUnits {
    fn from(minor: i64) -> Self {
        MinorUnits(minor)
    }
}

impl From<MinorUnits> for i64 {
    fn from(amount: MinorUnits) -> Self {
        amount.0
    }
}

impl fmt::Display for MinorUnits {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

macro_rules! currencies {
    ($($code:ident = $exp:literal, $name:literal;)*) => {
        /// An ISO 4217 currency that knows its minor-unit exponent.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        #[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
        #[cfg_attr(feature = "typescript", derive(ts_rs::TS))]
        pub enum Currency { $($code,)* }

        impl Currency {
            pub const ALL: &'static [Currency] = &[$(Currency::$code,)*];

            /// The three-letter code, e.g. `USD`.
            pub fn code(self) -> &'static str {
                match self { $(Currency::$code => stringify!($code),)* }
            }

            /// Decimal places of the minor unit: 2 for USD, 0 for JPY, 3 for KWD.
            pub fn exponent(self) -> u32 {
                match self { $(Currency::$code => $exp,)* }
            }

            /// The English name, e.g. "US Dollar".
            pub fn name(self) -> &'static str {
                match self { $(Currency::$code => $name,)* }
            }
        }

        impl FromStr for Currency {
            type Err = MoneyError;
            fn from_str(s: &str) -> Result<Self, MoneyError> {
                match s.to_ascii_uppercase().as_str() {
                    $(stringify!($code) => Ok(Currency::$code),)*
                    _ => Err(MoneyError::UnknownCurrency(s.to_owned())),
                }
            }
        }
    };
}

currencies! {
    AUD = 2, "Australian Dollar";
    BHD = 3, "Bahraini Dinar";
    BRL = 2, "Brazilian Real";
    CAD = 2, "Canadian Dollar";
    CHF = 2, "Swiss Franc";
    CLP = 0, "Chilean Peso";
    CNY = 2, "Yuan Renminbi";
    CZK = 2, "Czech Koruna";
    DKK = 2, "Danish Krone";
    EUR = 2, "Euro";
    GBP = 2, "Pound Sterling";
    HKD = 2, "Hong Kong Dollar";
    HUF = 2, "Forint";
    INR = 2, "Indian Rupee";
    ISK = 0, "Iceland Krona";
    JOD = 3, "Jordanian Dinar";
    JPY = 0, "Yen";
    KRW = 0, "Won";
    KWD = 3, "Kuwaiti Dinar";
    MXN = 2, "Mexican Peso";
    NOK = 2, "Norwegian Krone";
    NZD = 2, "New Zealand Dollar";
    OMR = 3, "Rial Omani";
    PLN = 2, "Zloty";
    SEK = 2, "Swedish Krona";
    SGD = 2, "Singapore Dollar";
    TND = 3, "Tunisian Dinar";
    USD = 2, "US Dollar";
    VND = 0, "Dong";
    ZAR = 2, "Rand";
}

impl Currency {
    /// Parses a decimal amount in major units into minor units: "26.98" USD → 2698.
    ///
    /// An amount with more decimal places than the currency has ("26.987" USD, "1.5" JPY) is an
    /// error, never rounded; trailing zeros ("26.980") are fine because they change nothing.
    pub fn parse_amount(self, amount: &str) -> Result<i64, MoneyError> {
        let trimmed = amount.trim();
        let (negative, unsigned) = match trimmed.strip_prefix('-') {
            Some(rest) => (true, rest),
            None => (false, trimmed.strip_prefix('+').unwrap_or(trimmed)),
        };
        let (whole, fraction) = unsigned.split_once('.').unwrap_or((unsigned, ""));
        let digits_only = |part: &str| part.bytes().all(|b| b.is_ascii_digit());
        if (whole.is_empty() && fraction.is_empty()) || !digits_only(whole) || !digits_only(fraction) {
            return Err(MoneyError::NotANumber(amount.to_owned()));
        }
        let fraction = fraction.trim_end_matches('0');
        let exponent = self.exponent() as usize;
        if fraction.len() > exponent {
            return Err(MoneyError::TooManyDecimals { amount: amount.to_owned(), currency: self, exponent: self.exponent() });
        }
        let padding = std::iter::repeat_n(b'0', exponent - fraction.len());
        let minor = whole
            .bytes()
            .chain(fraction.bytes())
            .chain(padding)
            .try_fold(0i64, |minor, digit| minor.checked_mul(10)?.checked_add(i64::from(digit - b'0')))
            .ok_or_else(|| MoneyError::TooLarge(amount.to_owned()))?;
        Ok(if negative { -minor } else { minor })
    }

    /// Formats minor units as a plain decimal in major units: 2698 USD → "26.98", 5 KWD → "0.005".
    pub fn format_amount(self, minor: i64) -> String {
        let sign = if minor < 0 { "-" } else { "" };
        let exponent = self.exponent() as usize;
        let digits = format!("{:0>width$}", minor.unsigned_abs(), width = exponent + 1);
        let (whole, fraction) = digits.split_at(digits.len() - exponent);
        if fraction.is_empty() {
            format!("{sign}{whole}")
        } else {
            format!("{sign}{whole}.{fraction}")
        }
    }
}

impl fmt::Display for Currency {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

impl serde::Serialize for Currency {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.code())
    }
}

impl<'de> serde::Deserialize<'de> for Currency {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(all(test, not(target_arch = "wasm32")))]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn parses_major_units_into_minor_units() {
        assert_eq!(Currency::USD.parse_amount("26.98"), Ok(2698));
        assert_eq!(Currency::USD.parse_amount("26.9"), Ok(2690));
        assert_eq!(Currency::USD.parse_amount("26.980"), Ok(2698));
        assert_eq!(Currency::USD.parse_amount("26"), Ok(2600));
        assert_eq!(Currency::JPY.parse_amount("1500"), Ok(1500));
        assert_eq!(Currency::KWD.parse_amount("1.234"), Ok(1234));
        assert_eq!(Currency::EUR.parse_amount("-3.50"), Ok(-350));
    }

    #[test]
    fn refuses_more_decimals_than_the_currency_has() {
        assert!(matches!(Currency::USD.parse_amount("26.987"), Err(MoneyError::TooManyDecimals { exponent: 2, .. })));
        assert!(matches!(Currency::JPY.parse_amount("1.5"), Err(MoneyError::TooManyDecimals { exponent: 0, .. })));
        assert!(matches!(Currency::KWD.parse_amount("1.2345"), Err(MoneyError::TooManyDecimals { exponent: 3, .. })));
        let message = Currency::USD.parse_amount("26.987").unwrap_err().to_string();
        assert!(message.contains("USD") && message.contains("2 decimal places"), "{message}");
    }

    #[test]
    fn refuses_what_is_not_a_plain_decimal() {
        for bad in ["", "abc", "1e3", "1,50", "1_000", "NaN", "-", ".", "1.2.3", "--1", "+-1", "1 000", "٣"] {
            assert!(matches!(Currency::USD.parse_amount(bad), Err(MoneyError::NotANumber(_))), "{bad:?}");
        }
        assert!(matches!(Currency::USD.parse_amount("99999999999999999999"), Err(MoneyError::TooLarge(_))));
    }

    #[test]
    fn takes_signs_and_bare_points() {
        assert_eq!(Currency::USD.parse_amount(" +26.98 "), Ok(2698));
        assert_eq!(Currency::USD.parse_amount(".5"), Ok(50));
        assert_eq!(Currency::USD.parse_amount("5."), Ok(500));
        assert_eq!(Currency::USD.parse_amount("-0.00"), Ok(0));
        assert_eq!(Currency::JPY.parse_amount("1500.000"), Ok(1500));
        assert_eq!(Currency::USD.parse_amount("92233720368547758.07"), Ok(i64::MAX));
        assert!(matches!(Currency::USD.parse_amount("92233720368547758.08"), Err(MoneyError::TooLarge(_))));
    }

    #[test]
    fn formats_with_the_currency_exponent() {
        assert_eq!(Currency::USD.format_amount(2698), "26.98");
        assert_eq!(Currency::USD.format_amount(5), "0.05");
        assert_eq!(Currency::JPY.format_amount(1500), "1500");
        assert_eq!(Currency::KWD.format_amount(5), "0.005");
        assert_eq!(Currency::GBP.format_amount(-1999), "-19.99");
        assert_eq!(Currency::GBP.format_amount(-5), "-0.05");
        assert_eq!(Currency::USD.format_amount(0), "0.00");
        assert_eq!(Currency::JPY.format_amount(0), "0");
        assert_eq!(Currency::KWD.format_amount(i64::MIN), "-9223372036854775.808");
    }

    #[test]
    fn currency_codes_parse_and_serialize() {
        assert_eq!("usd".parse::<Currency>(), Ok(Currency::USD));
        assert!(matches!("XXX".parse::<Currency>(), Err(MoneyError::UnknownCurrency(_))));
        assert_eq!(serde_json::to_string(&Currency::KWD).unwrap(), "\"KWD\"");
        assert_eq!(serde_json::from_str::<Currency>("\"JPY\"").unwrap(), Currency::JPY);
        for c in Currency::ALL {
            assert_eq!(c.code().parse::<Currency>(), Ok(*c));
        }
    }

    proptest! {
        #[test]
        fn format_then_parse_is_the_identity(
            minor in -999_999_999_999i64..999_999_999_999,
            index in 0..Currency::ALL.len(),
        ) {
            let currency = Currency::ALL[index];
            prop_assert_eq!(currency.parse_amount(&currency.format_amount(minor)), Ok(minor));
        }

        #[test]
        fn parse_then_format_is_the_identity_on_canonical_text(
            major in 0u64..10_000_000, fraction in 0u64..1000, index in 0..Currency::ALL.len(),
        ) {
            let currency = Currency::ALL[index];
            let exp = currency.exponent();
            let text = if exp == 0 {
                major.to_string()
            } else {
                format!("{major}.{:0width$}", fraction % 10u64.pow(exp), width = exp as usize)
            };
            let minor = currency.parse_amount(&text).unwrap();
            prop_assert_eq!(currency.format_amount(minor), text);
        }
    }
}
