//! Card rules: number (Luhn, brand, length, masking), CVC and expiry.
//!
//! A [`CardNumber`] or [`Cvc`] can only be built by parsing, shows itself masked in `Debug` and
//! `Display`, and has no `Serialize`: it cannot leak into a log or a JSON body by accident. The one
//! way to read the digits is [`CardNumber::expose`], for the call that hands them to a processor.

use std::fmt;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "typescript", derive(ts_rs::TS))]
#[serde(rename_all = "snake_case")]
pub enum CardBrand {
    Visa,
    Mastercard,
    Amex,
    Discover,
    Diners,
    Jcb,
    Unionpay,
    Unknown,
}

impl CardBrand {
    pub const ALL: [CardBrand; 8] = [
        CardBrand::Visa,
        CardBrand::Mastercard,
        CardBrand::Amex,
        CardBrand::Discover,
        CardBrand::Diners,
        CardBrand::Jcb,
        CardBrand::Unionpay,
        CardBrand::Unknown,
    ];

    /// Detects the brand from the leading digits (full or partial number).
    pub fn detect(digits: &str) -> CardBrand {
        let prefix = |n: usize| -> Option<u32> { digits.get(..n).and_then(|p| p.parse().ok()) };
        let within = |n: usize, lo: u32, hi: u32| prefix(n).is_some_and(|p| (lo..=hi).contains(&p));
        if within(2, 34, 34) || within(2, 37, 37) {
            CardBrand::Amex
        } else if within(4, 2221, 2720) || within(2, 51, 55) {
            CardBrand::Mastercard
        } else if within(4, 6011, 6011) || within(3, 644, 649) || within(2, 65, 65) || within(6, 622126, 622925) {
            CardBrand::Discover
        } else if within(2, 62, 62) || within(2, 81, 81) {
            CardBrand::Unionpay
        } else if within(4, 3528, 3589) {
            CardBrand::Jcb
        } else if within(3, 300, 305) || within(2, 36, 36) || within(2, 38, 39) || within(3, 309, 309) {
            CardBrand::Diners
        } else if digits.starts_with('4') {
            CardBrand::Visa
        } else {
            CardBrand::Unknown
        }
    }

    /// Valid number lengths for the brand.
    pub fn lengths(self) -> &'static [usize] {
        match self {
            CardBrand::Visa => &[13, 16, 19],
            CardBrand::Mastercard => &[16],
            CardBrand::Amex => &[15],
            CardBrand::Discover | CardBrand::Jcb | CardBrand::Unionpay => &[16, 17, 18, 19],
            CardBrand::Diners => &[14, 15, 16, 17, 18, 19],
            CardBrand::Unknown => &[12, 13, 14, 15, 16, 17, 18, 19],
        }
    }

    /// Valid CVC lengths for the brand: American Express prints four digits.
    pub fn cvc_lengths(self) -> &'static [usize] {
        match self {
            CardBrand::Amex => &[4],
            CardBrand::Unknown => &[3, 4],
            _ => &[3],
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            CardBrand::Visa => "visa",
            CardBrand::Mastercard => "mastercard",
            CardBrand::Amex => "amex",
            CardBrand::Discover => "discover",
            CardBrand::Diners => "diners",
            CardBrand::Jcb => "jcb",
            CardBrand::Unionpay => "unionpay",
            CardBrand::Unknown => "unknown",
        }
    }

    /// The brand's name as people write it ("American Express"); empty for an unknown brand.
    pub fn name(self) -> &'static str {
        match self {
            CardBrand::Visa => "Visa",
            CardBrand::Mastercard => "Mastercard",
            CardBrand::Amex => "American Express",
            CardBrand::Discover => "Discover",
            CardBrand::Diners => "Diners Club",
            CardBrand::Jcb => "JCB",
            CardBrand::Unionpay => "UnionPay",
            CardBrand::Unknown => "",
        }
    }
}

impl std::str::FromStr for CardBrand {
    type Err = ();
    fn from_str(s: &str) -> Result<Self, ()> {
        CardBrand::ALL.into_iter().find(|brand| brand.as_str() == s).ok_or(())
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum CardError {
    #[error("card number must contain only digits, spaces or dashes")]
    InvalidCharacters,
    #[error("card number has the wrong length for its brand")]
    InvalidLength,
    #[error("card number is invalid (checksum failed)")]
    FailedLuhn,
    #[error("CVC must be {0} digits")]
    InvalidCvc(&'static str),
    #[error("expiry month must be between 1 and 12")]
    InvalidExpiryMonth,
    #[error("expiry year is invalid")]
    InvalidExpiryYear,
    #[error("card has expired")]
    Expired,
}

/// The Luhn checksum over a string of ASCII digits.
pub fn luhn_valid(digits: &str) -> bool {
    let mut sum = 0u32;
    for (i, b) in digits.bytes().rev().enumerate() {
        let mut d = u32::from(b - b'0');
        if i % 2 == 1 {
            d *= 2;
            if d > 9 {
                d -= 9;
            }
        }
        sum += d;
    }
    sum % 10 == 0
}

/// A card number that passed the brand length and Luhn checks.
#[derive(Clone, PartialEq, Eq)]
pub struct CardNumber {
    digits: String,
    brand: CardBrand,
}

impl CardNumber {
    /// Parses a number typed by a person: spaces and dashes are ignored.
    pub fn parse(input: &str) -> Result<CardNumber, CardError> {
        let mut digits = String::with_capacity(19);
        for c in input.chars() {
            match c {
                '0'..='9' => digits.push(c),
                ' ' | '-' => {}
                _ => return Err(CardError::InvalidCharacters),
            }
        }
        let brand = CardBrand::detect(&digits);
        if !brand.lengths().contains(&digits.len()) {
            return Err(CardError::InvalidLength);
        }
        if !luhn_valid(&digits) {
            return Err(CardError::FailedLuhn);
        }
        Ok(CardNumber { digits, brand })
    }

    pub fn brand(&self) -> CardBrand {
        self.brand
    }

    pub fn last4(&self) -> &str {
        &self.digits[self.digits.len() - 4..]
    }

    /// The first six digits (the issuer identification number).
    pub fn bin(&self) -> &str {
        &self.digits[..6]
    }

    /// The digits themselves. Call this only to hand the number to a processor.
    pub fn expose(&self) -> &str {
        &self.digits
    }

    /// `424242******4242`: at most the first six and the last four digits.
    pub fn masked(&self) -> String {
        let hidden = self.digits.len() - 10;
        format!("{}{}{}", self.bin(), "*".repeat(hidden), self.last4())
    }
}

impl fmt::Debug for CardNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.masked())
    }
}

impl fmt::Display for CardNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.masked())
    }
}

impl<'de> serde::Deserialize<'de> for CardNumber {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        CardNumber::parse(&s).map_err(serde::de::Error::custom)
    }
}

/// A card verification code: three or four digits, never shown.
#[derive(Clone, PartialEq, Eq)]
pub struct Cvc(String);

impl Cvc {
    /// Parses a CVC of any valid length; [`Cvc::check_for`] checks it against the brand.
    pub fn parse(input: &str) -> Result<Cvc, CardError> {
        let input = input.trim();
        if (3..=4).contains(&input.len()) && input.bytes().all(|b| b.is_ascii_digit()) {
            Ok(Cvc(input.to_owned()))
        } else {
            Err(CardError::InvalidCvc("3 or 4"))
        }
    }

    pub fn check_for(&self, brand: CardBrand) -> Result<(), CardError> {
        if brand.cvc_lengths().contains(&self.0.len()) {
            Ok(())
        } else if brand == CardBrand::Amex {
            Err(CardError::InvalidCvc("4"))
        } else {
            Err(CardError::InvalidCvc("3"))
        }
    }

    /// The digits themselves. Call this only to hand the CVC to a processor.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Cvc {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

impl<'de> serde::Deserialize<'de> for Cvc {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        Cvc::parse(&s).map_err(serde::de::Error::custom)
    }
}

/// A card's expiry; valid through the last day of its month.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Expiry {
    pub month: u32,
    pub year: u32,
}

impl Expiry {
    /// Builds an expiry from a month and a two- or four-digit year, refusing a date in the past.
    /// `today` is `(year, month)`; the caller supplies it so this works without a clock.
    pub fn new(month: u32, year: u32, today: (u32, u32)) -> Result<Expiry, CardError> {
        if !(1..=12).contains(&month) {
            return Err(CardError::InvalidExpiryMonth);
        }
        let year = match year {
            0..=99 => 2000 + year,
            2000..=2099 => year,
            _ => return Err(CardError::InvalidExpiryYear),
        };
        if (year, month) < today {
            return Err(CardError::Expired);
        }
        Ok(Expiry { month, year })
    }
}

#[cfg(all(test, not(target_arch = "wasm32")))]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn brand_names_parse_back_and_agree_with_serde() {
        for brand in CardBrand::ALL {
            assert_eq!(brand.as_str().parse::<CardBrand>(), Ok(brand));
            assert_eq!(serde_json::to_value(brand).unwrap(), brand.as_str());
        }
        assert_eq!("Visa".parse::<CardBrand>(), Err(()));
    }

    #[test]
    fn detects_brands() {
        let cases = [
            ("4242424242424242", CardBrand::Visa),
            ("5555555555554444", CardBrand::Mastercard),
            ("2223003122003222", CardBrand::Mastercard),
            ("2720990000000007", CardBrand::Mastercard),
            ("378282246310005", CardBrand::Amex),
            ("371449635398431", CardBrand::Amex),
            ("6011111111111117", CardBrand::Discover),
            ("6445644564456445", CardBrand::Discover),
            ("3056930009020004", CardBrand::Diners),
            ("36227206271667", CardBrand::Diners),
            ("3566002020360505", CardBrand::Jcb),
            ("6200000000000005", CardBrand::Unionpay),
            ("8171999927660000", CardBrand::Unionpay),
            ("9999999999999995", CardBrand::Unknown),
        ];
        for (number, brand) in cases {
            assert_eq!(CardBrand::detect(number), brand, "{number}");
            assert_eq!(CardNumber::parse(number).map(|n| n.brand()), Ok(brand), "{number}");
        }
        assert_eq!(CardBrand::detect("2221"), CardBrand::Mastercard);
        assert_eq!(CardBrand::detect("2220"), CardBrand::Unknown);
        assert_eq!(CardBrand::detect("2721"), CardBrand::Unknown);
    }

    #[test]
    fn checks_luhn_and_length() {
        assert_eq!(CardNumber::parse("4242 4242 4242 4241"), Err(CardError::FailedLuhn));
        assert_eq!(CardNumber::parse("4242-4242-4242-4242").unwrap().last4(), "4242");
        assert_eq!(CardNumber::parse("424242424242424"), Err(CardError::InvalidLength));
        // A valid Luhn number of the wrong length for Amex.
        assert_eq!(CardNumber::parse("3782822463100005"), Err(CardError::InvalidLength));
        assert_eq!(CardNumber::parse("4242x4242"), Err(CardError::InvalidCharacters));
        assert_eq!(CardNumber::parse(""), Err(CardError::InvalidLength));
    }

    #[test]
    fn masks_everything_but_six_and_four() {
        let n = CardNumber::parse("4242424242424242").unwrap();
        assert_eq!(n.masked(), "424242******4242");
        assert_eq!(format!("{n:?}"), "424242******4242");
        assert_eq!(format!("{n}"), "424242******4242");
        let amex = CardNumber::parse("378282246310005").unwrap();
        assert_eq!(amex.masked(), "378282*****0005");
    }

    #[test]
    fn cvc_length_depends_on_brand() {
        let three = Cvc::parse("123").unwrap();
        let four = Cvc::parse("1234").unwrap();
        assert!(three.check_for(CardBrand::Visa).is_ok());
        assert_eq!(four.check_for(CardBrand::Visa), Err(CardError::InvalidCvc("3")));
        assert!(four.check_for(CardBrand::Amex).is_ok());
        assert_eq!(three.check_for(CardBrand::Amex), Err(CardError::InvalidCvc("4")));
        assert!(Cvc::parse("12").is_err());
        assert!(Cvc::parse("12a").is_err());
        assert_eq!(format!("{three:?}"), "***");
    }

    #[test]
    fn expiry_is_valid_through_its_month() {
        assert_eq!(Expiry::new(11, 26, (2026, 11)), Ok(Expiry { month: 11, year: 2026 }));
        assert_eq!(Expiry::new(10, 2026, (2026, 11)), Err(CardError::Expired));
        assert_eq!(Expiry::new(1, 2027, (2026, 11)), Ok(Expiry { month: 1, year: 2027 }));
        assert_eq!(Expiry::new(13, 2027, (2026, 11)), Err(CardError::InvalidExpiryMonth));
        assert_eq!(Expiry::new(0, 2027, (2026, 11)), Err(CardError::InvalidExpiryMonth));
        assert_eq!(Expiry::new(1, 1999, (2026, 11)), Err(CardError::InvalidExpiryYear));
    }

    /// Appends the Luhn check digit to a payload.
    fn with_check_digit(payload: &str) -> String {
        (0..10).map(|d| format!("{payload}{d}")).find(|candidate| luhn_valid(candidate)).unwrap()
    }

    proptest! {
        #[test]
        fn a_masked_number_shows_at_most_six_and_four(payload in "4[0-9]{14}") {
            let digits = with_check_digit(&payload);
            let number = CardNumber::parse(&digits).unwrap();
            let masked = number.masked();
            prop_assert_eq!(masked.len(), digits.len());
            let shown: Vec<usize> = masked.char_indices()
                .filter(|(_, c)| c.is_ascii_digit()).map(|(i, _)| i).collect();
            prop_assert!(shown.len() <= 10);
            for i in shown {
                prop_assert!(i < 6 || i >= digits.len() - 4);
                prop_assert_eq!(masked.as_bytes()[i], digits.as_bytes()[i]);
            }
            prop_assert_eq!(format!("{:?}", number), masked.clone());
            prop_assert_eq!(number.to_string(), masked);
        }

        #[test]
        fn any_length_masks_the_middle(payload in "[1-9][0-9]{10,17}") {
            let digits = with_check_digit(&payload);
            if let Ok(number) = CardNumber::parse(&digits) {
                let masked = number.masked();
                let digit_count = masked.chars().filter(char::is_ascii_digit).count();
                prop_assert_eq!(digit_count, 10);
                prop_assert_eq!(&masked[..6], &digits[..6]);
                prop_assert_eq!(&masked[masked.len() - 4..], &digits[digits.len() - 4..]);
            }
        }

        #[test]
        fn changing_one_digit_breaks_luhn(payload in "4[0-9]{14}", pos in 0usize..16, delta in 1u8..10) {
            let digits = with_check_digit(&payload);
            let mut bytes = digits.into_bytes();
            bytes[pos] = b'0' + (bytes[pos] - b'0' + delta) % 10;
            prop_assert!(!luhn_valid(std::str::from_utf8(&bytes).unwrap()));
        }
    }
}
