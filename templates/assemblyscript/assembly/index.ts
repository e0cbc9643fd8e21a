// {{name}}: a jinn function in AssemblyScript. Build with ./build.sh, then try it:
//   jinn call {{name}}.wasm --path '/hello' --body 'some bytes'
// The SDK (jinn.ts) reads the request from stdin and writes the response to
// stdout; anything you print for debugging goes to stderr.
import { readRequest, Response } from "./jinn";

const req = readRequest();
let text = "hello from {{name}}: " + req.method + " " + req.path + "\n";
if (req.body.length > 0) text += "you sent " + req.body.length.toString() + " bytes\n";
new Response(200).header("Content-Type", "text/plain; charset=utf-8").text(text).send();
