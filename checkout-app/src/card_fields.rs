//! What the card form knows about what is typed: grouping as you type, and the checks shown once a
//! field is left.

use kassa::card::{CardBrand, CardError, CardNumber, Cvc, Expiry};

use crate::i18n::Text;

pub fn digits(text: &str) -> String {
    text.chars().filter(char::is_ascii_digit).collect()
}

/// Groups a number as its brand prints it: 4-6-5 for American Express, fours for the others.
pub fn group_number(text: &str) -> String {
    let digits: String = digits(text).chars().take(19).collect();
    let groups: &[usize] = if CardBrand::detect(&digits) == CardBrand::Amex { &[4, 6, 5] } else { &[4, 4, 4, 4, 3] };
    let mut out = String::new();
    let mut rest = digits.as_str();
    for size in groups {
        if rest.is_empty() {
            break;
        }
        let (head, tail) = rest.split_at((*size).min(rest.len()));
        if !out.is_empty() {
            out.push(' ');
        }
        out.push_str(head);
        rest = tail;
    }
    out
}

/// "1228" → "12 / 28".
pub fn group_expiry(text: &str) -> String {
    let digits: String = digits(text).chars().take(4).collect();
    if digits.len() > 2 {
        format!("{} / {}", &digits[..2], &digits[2..])
    } else {
        digits
    }
}

pub fn brand(number: &str) -> CardBrand {
    let digits = digits(number);
    if digits.is_empty() {
        CardBrand::Unknown
    } else {
        CardBrand::detect(&digits)
    }
}

pub fn brand_label(brand: CardBrand) -> &'static str {
    match brand {
        CardBrand::Visa => "VISA",
        CardBrand::Mastercard => "Mastercard",
        CardBrand::Amex => "AMEX",
        CardBrand::Discover => "Discover",
        CardBrand::Diners => "Diners",
        CardBrand::Jcb => "JCB",
        CardBrand::Unionpay => "UnionPay",
        CardBrand::Unknown => "",
    }
}

/// The error key for the number, if it is not a valid card number.
pub fn number_error(number: &str) -> Option<Text> {
    CardNumber::parse(number).err().map(|_| Text::ErrNumber)
}

pub fn parse_expiry(text: &str, today: (u32, u32)) -> Result<Expiry, Text> {
    let digits = digits(text);
    if digits.len() != 4 {
        return Err(Text::ErrExpiry);
    }
    let month: u32 = digits[..2].parse().map_err(|_| Text::ErrExpiry)?;
    let year: u32 = digits[2..].parse().map_err(|_| Text::ErrExpiry)?;
    Expiry::new(month, year, today).map_err(|e| if e == CardError::Expired { Text::ErrExpired } else { Text::ErrExpiry })
}

pub fn cvc_error(cvc: &str, number: &str) -> Option<Text> {
    match Cvc::parse(cvc) {
        Ok(cvc) if cvc.check_for(brand(number)).is_ok() => None,
        _ => Some(Text::ErrCvc),
    }
}

/// Today as `(year, month)`.
pub fn today() -> (u32, u32) {
    let now = js_sys::Date::new_0();
    (now.get_full_year(), now.get_month() + 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn groups_as_the_brand_prints() {
        assert_eq!(group_number("4242424242424242"), "4242 4242 4242 4242");
        assert_eq!(group_number("378282246310005"), "3782 822463 10005");
        assert_eq!(group_number("42a4 2"), "4242");
        assert_eq!(group_expiry("1228"), "12 / 28");
        assert_eq!(group_expiry("1"), "1");
    }
}
