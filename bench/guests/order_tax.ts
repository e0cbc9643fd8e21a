// order-tax in AssemblyScript, with the jinn SDK (sdk/assemblyscript/jinn.ts,
// copied beside this file by bench/guests/build.sh): the same input and
// output as examples/order-tax/order_tax.c. The order {"id": ..., "value":
// number} is answered with {"id":...,"value":...,"tax":value*0.15,
// "total":value*1.15}; numbers are printed as C's %.15g prints them.
import { readRequest, Response } from "./jinn";

function isSpace(c: i32): bool {
  return c == 32 || c == 9 || c == 10 || c == 13;
}

// The raw JSON token after `"key":` in json, or null (as the C version's json_token).
function token(json: string, key: string): string | null {
  const quoted = "\"" + key + "\"";
  for (let at = json.indexOf(quoted); at >= 0; at = json.indexOf(quoted, at + 1)) {
    let p = at + quoted.length;
    while (p < json.length && isSpace(json.charCodeAt(p))) p++;
    if (p >= json.length || json.charCodeAt(p) != 58) continue;  // a string value, not a key
    p++;
    while (p < json.length && isSpace(json.charCodeAt(p))) p++;
    let e = p;
    if (e < json.length && json.charCodeAt(e) == 34) {
      for (e++; e < json.length && json.charCodeAt(e) != 34; e++) {
        if (json.charCodeAt(e) == 92) e++;
      }
      if (e >= json.length) return null;
      e++;
    } else {
      while (e < json.length && ",}] \t\r\n".indexOf(json.charAt(e)) < 0) e++;
    }
    if (e == p) return null;
    return json.substring(p, e);
  }
  return null;
}

// v as C's %.15g. AssemblyScript prints the shortest round-trip digits
// (up to 17); those are rounded half-up to 15 significant digits here,
// which matches C's correctly rounded %.15g except in rare double-rounding
// cases that the benchmark's orders never reach.
function g15(v: f64): string {
  if (isNaN(v)) return "nan";
  if (!isFinite(v)) return v > 0 ? "inf" : "-inf";
  if (v == 0) return "0";
  const neg = v < 0;
  const s = (neg ? -v : v).toString();
  // Split s into its digits and the decimal exponent of the first one.
  let mant = s;
  let exp10 = 0;
  const e = s.indexOf("e");
  if (e >= 0) {
    mant = s.substring(0, e);
    exp10 = I32.parseInt(s.substring(s.charAt(e + 1) == "+" ? e + 2 : e + 1));
  }
  const dot = mant.indexOf(".");
  let digits = dot >= 0 ? mant.substring(0, dot) + mant.substring(dot + 1) : mant;
  let point = (dot >= 0 ? dot : mant.length) + exp10;  // digits before the decimal point
  let lead = 0;
  while (lead < digits.length - 1 && digits.charCodeAt(lead) == 48) lead++;
  digits = digits.substring(lead);
  point -= lead;
  if (digits.length > 15) {
    const up = digits.charCodeAt(15) >= 53;
    const d = new Array<i32>(15);
    for (let i = 0; i < 15; i++) d[i] = digits.charCodeAt(i) - 48;
    let i = 14;
    if (up) {
      while (i >= 0 && d[i] == 9) { d[i] = 0; i--; }
      if (i >= 0) d[i]++;
    }
    digits = (i < 0 && up) ? "1" : "";
    if (i < 0 && up) point++;
    for (let k = 0; k < 15; k++) digits += String.fromCharCode(48 + d[k]);
    digits = digits.substring(0, 15);
  }
  let end = digits.length;
  while (end > 1 && digits.charCodeAt(end - 1) == 48) end--;
  digits = digits.substring(0, end);
  const x = point - 1;  // the exponent %g would print
  let out: string;
  if (x < -4 || x >= 15) {
    const rest = digits.substring(1);
    const ax = x < 0 ? -x : x;
    out = digits.charAt(0) + (rest.length > 0 ? "." + rest : "") + "e" + (x < 0 ? "-" : "+") + (ax < 10 ? "0" : "") + ax.toString();
  } else if (point <= 0) {
    out = "0." + "0".repeat(-point) + digits;
  } else if (point >= digits.length) {
    out = digits + "0".repeat(point - digits.length);
  } else {
    out = digits.substring(0, point) + "." + digits.substring(point);
  }
  return neg ? "-" + out : out;
}

function main(): void {
  const body = readRequest().bodyText();
  const id = token(body, "id");
  const num = token(body, "value");
  const value = num != null ? F64.parseFloat(num) : NaN;
  if (num == null || isNaN(value)) {
    new Response(400).header("Content-Type", "text/plain").text("expected {\"id\": ..., \"value\": number}\n").send();
    return;
  }
  const out = "{\"id\":" + (id != null ? id : "null") + ",\"value\":" + g15(value) + ",\"tax\":" + g15(value * 0.15) +
    ",\"total\":" + g15(value * 1.15) + "}";
  new Response(200).header("Content-Type", "application/json").text(out).send();
}

main();
