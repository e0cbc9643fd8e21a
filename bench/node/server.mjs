// The Node.js peer: an HTTP server that runs a WASI preview1 .wasm per
// request as jinn does (a fresh instance, the jinn request envelope on stdin,
// the response JSON read from stdout), with Node's own node:wasi. The module
// is compiled once at start-up, as jinn loads a precompiled artifact once.
//
// node:wasi takes file descriptors for stdin and stdout, not buffers, so the
// envelope and the answer go through two files in a tmpfs directory (reused:
// the calls are synchronous, one at a time).
//
// Usage: node --no-turbo-fast-api-calls server.mjs FILE.wasm PORT [TMPDIR]
// (Node 20's node:wasi crashes when instantiated per request without the flag.)
// Prints "listening on 127.0.0.1:PORT" on stderr once it accepts connections.
import { readFileSync, writeFileSync, openSync, closeSync, mkdtempSync, rmSync } from "node:fs";
import { createServer } from "node:http";
import { join } from "node:path";
import { WASI } from "node:wasi";

const [wasmPath, portText, tmpRoot = "/dev/shm"] = process.argv.slice(2);
if (!wasmPath || !portText) {
  console.error("usage: server.mjs FILE.wasm PORT [TMPDIR]");
  process.exit(2);
}
const module = new WebAssembly.Module(readFileSync(wasmPath));
const dir = mkdtempSync(join(tmpRoot, "jinn-node-"));
const inPath = join(dir, "stdin");
const outPath = join(dir, "stdout");
for (const signal of ["SIGTERM", "SIGINT"]) {
  process.on(signal, () => {
    rmSync(dir, { recursive: true, force: true });
    process.exit(0);
  });
}

function envelope(req, url, body) {
  const headers = {};
  for (let i = 0; i < req.rawHeaders.length; i += 2) {
    (headers[req.rawHeaders[i]] ??= []).push(req.rawHeaders[i + 1]);
  }
  const text = body.toString("utf8");
  const utf8 = Buffer.from(text, "utf8").equals(body);
  const q = url.indexOf("?");
  return JSON.stringify({
    method: req.method,
    uri: url,
    path: q < 0 ? url : url.slice(0, q),
    query: q < 0 ? "" : url.slice(q + 1),
    headers,
    ...(utf8 ? { body: text } : { body_base64: body.toString("base64") }),
    trace_id: "",
    remote_addr: `${req.socket.remoteAddress}:${req.socket.remotePort}`,
    route: "/order",
  });
}

// One call: a fresh WASI context and instance; returns the guest's stdout.
function call(input) {
  writeFileSync(inPath, input);
  const stdin = openSync(inPath, "r");
  const stdout = openSync(outPath, "w+");
  try {
    const wasi = new WASI({ version: "preview1", args: [], env: {}, stdin, stdout, stderr: 2, returnOnExit: true });
    const instance = new WebAssembly.Instance(module, wasi.getImportObject());
    const code = wasi.start(instance);
    if (code !== 0) throw new Error(`the function exited with ${code}`);
  } finally {
    closeSync(stdin);
    closeSync(stdout);
  }
  return readFileSync(outPath, "utf8");
}

function answer(res, out) {
  const r = JSON.parse(out);
  const headers = {};
  for (const [k, v] of Object.entries(r.headers ?? {})) headers[k] = v;
  const body = r.body_base64 !== undefined ? Buffer.from(r.body_base64, "base64") : Buffer.from(r.body ?? "", "utf8");
  headers["Content-Length"] = body.length;
  res.writeHead(r.status ?? 200, headers);
  res.end(body);
}

const server = createServer((req, res) => {
  const chunks = [];
  req.on("data", (c) => chunks.push(c));
  req.on("end", () => {
    try {
      answer(res, call(envelope(req, req.url, Buffer.concat(chunks))));
    } catch (e) {
      res.writeHead(500, { "Content-Type": "text/plain" });
      res.end(`${e.message}\n`);
    }
  });
});
server.keepAliveTimeout = 60000;
server.listen(Number(portText), "127.0.0.1", () => {
  console.error(`listening on 127.0.0.1:${server.address().port}`);
});
