// order-tax in Rust, with the jinn SDK: the same input and output as
// examples/order-tax/order_tax.c. The order {"id": ..., "value": number}
// is answered with {"id":...,"value":...,"tax":value*0.15,"total":value*1.15};
// numbers are printed as C's %.15g prints them (15, not 15.000000000000002).
#[path = "../../sdk/rust/jinn.rs"]
mod jinn;

use jinn::json::Value;

/// `v` as C's `%.15g`: 15 significant digits, trailing zeros dropped,
/// exponent notation below 1e-4 and from 1e15.
fn g15(v: f64) -> String {
    if v == 0.0 {
        return if v.is_sign_negative() { "-0".into() } else { "0".into() };
    }
    if !v.is_finite() {
        return if v.is_nan() { "nan".into() } else if v > 0.0 { "inf".into() } else { "-inf".into() };
    }
    let sci = format!("{:.14e}", v); // d.dddddddddddddde[-]X, correctly rounded
    let (mantissa, exp) = sci.split_once('e').unwrap_or((&sci, "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    let (sign, mantissa) = match mantissa.strip_prefix('-') {
        Some(m) => ("-", m),
        None => ("", mantissa),
    };
    let digits: String = mantissa.chars().filter(|c| *c != '.').collect();
    let digits = digits.trim_end_matches('0');
    let digits = if digits.is_empty() { "0" } else { digits };
    if exp < -4 || exp >= 15 {
        let (first, rest) = digits.split_at(1);
        let dot = if rest.is_empty() { "" } else { "." };
        let esign = if exp < 0 { '-' } else { '+' };
        return format!("{}{}{}{}e{}{:02}", sign, first, dot, rest, esign, exp.abs());
    }
    let point = exp + 1; // digits before the decimal point
    if point <= 0 {
        format!("{}0.{}{}", sign, "0".repeat((-point) as usize), digits)
    } else if point as usize >= digits.len() {
        format!("{}{}{}", sign, digits, "0".repeat(point as usize - digits.len()))
    } else {
        let (int, frac) = digits.split_at(point as usize);
        format!("{}{}.{}", sign, int, frac)
    }
}

fn json_of(v: &Value) -> String {
    match v {
        Value::Null => "null".into(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => g15(*n),
        Value::String(s) => jinn::json::quote(s),
        Value::Array(items) => format!("[{}]", items.iter().map(json_of).collect::<Vec<_>>().join(",")),
        Value::Object(members) => format!(
            "{{{}}}",
            members.iter().map(|(k, m)| format!("{}:{}", jinn::json::quote(k), json_of(m))).collect::<Vec<_>>().join(",")
        ),
    }
}

fn main() {
    let req = jinn::Request::read().unwrap_or_else(|e| jinn::fail(&e));
    let order = req.body_text().and_then(|t| jinn::json::parse(t).ok());
    let value = order.as_ref().and_then(|o| o.get("value")).and_then(|v| v.as_f64());
    let (order, value) = match (order, value) {
        (Some(o), Some(v)) => (o, v),
        _ => {
            jinn::Response::new(400)
                .header("Content-Type", "text/plain")
                .text("expected {\"id\": ..., \"value\": number}\n")
                .send();
            return;
        }
    };
    let id = order.get("id").map(json_of).unwrap_or_else(|| "null".into());
    let body = format!(
        "{{\"id\":{},\"value\":{},\"tax\":{},\"total\":{}}}",
        id,
        g15(value),
        g15(value * 0.15),
        g15(value * 1.15)
    );
    jinn::Response::new(200).header("Content-Type", "application/json").text(&body).send();
}
