// Tenant "globex": its custom pricing rule, a 2% surcharge plus a flat 5.00
// fee, written in Rust with the jinn SDK. Its API key reaches it through its
// own route's env and nobody else's.
#[path = "../../sdk/rust/jinn.rs"]
mod jinn;

fn main() {
    let req = jinn::Request::read().unwrap_or_else(|e| jinn::fail(&e));
    let amount = req
        .body_text()
        .and_then(|t| jinn::json::parse(t).ok())
        .and_then(|v| v.get("amount").and_then(|a| a.as_f64()))
        .filter(|a| *a >= 0.0);
    let amount = match amount {
        Some(a) => a,
        None => {
            jinn::Response::new(400)
                .header("Content-Type", "application/json")
                .text("{\"error\":\"send {\\\"amount\\\": <number >= 0>}\"}")
                .send();
            return;
        }
    };
    let total = amount * 1.02 + 5.0;
    let tenant = std::env::var("TENANT").unwrap_or_default();
    let has_key = std::env::var("GLOBEX_API_KEY").map(|k| !k.is_empty()).unwrap_or(false);
    let body = format!(
        "{{\"tenant\":{},\"rule\":\"2% surcharge + 5.00 fee\",\"amount\":{:.2},\"total\":{:.2},\"has_own_key\":{}}}",
        jinn::json::quote(&tenant),
        amount,
        total,
        has_key
    );
    jinn::Response::new(200).header("Content-Type", "application/json").text(&body).send();
}
