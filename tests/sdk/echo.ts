// SDK round-trip guest (AssemblyScript): answers 201 with the request's X-*
// headers (every value, in order), its method and path, and its body bytes.
import { readRequest, Response } from "./jinn";

const req = readRequest();
const res = new Response(201);
res.header("X-Method", req.method).header("X-Path", req.path);
for (let i = 0; i < req.headerNames.length; i++) {
  const name = req.headerNames[i];
  if (!name.startsWith("X-")) continue;
  for (let j = 0; j < req.headerValues[i].length; j++) res.header(name, req.headerValues[i][j]);
}
res.bytes(req.body).send();
