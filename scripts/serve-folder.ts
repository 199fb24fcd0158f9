// A plain HTTP file server for one folder, for `make local-remote`: what a fleet's artifact
// server does for vm_config.code.remote. GET /NAME answers the file's bytes, anything else 404.
//   npx tsx scripts/serve-folder.ts FOLDER PORT

import { readFile } from "node:fs/promises";
import { createServer } from "node:http";
import { basename, join } from "node:path";

const [folder, portText] = process.argv.slice(2);
const port = Number(portText);
if (folder === undefined || !Number.isInteger(port) || port < 0 || port > 65535) {
  process.stderr.write("usage: npx tsx scripts/serve-folder.ts FOLDER PORT\n");
  process.exit(2);
}

const server = createServer((request, response) => {
  const name = decodeURIComponent(new URL(request.url ?? "/", "http://localhost").pathname.slice(1));
  // One level only: no path leads out of the folder.
  if (request.method !== "GET" || name === "" || basename(name) !== name) {
    response.writeHead(404).end();
    return;
  }
  readFile(join(folder, name)).then(
    (bytes) => response.writeHead(200, { "content-type": "application/wasm", "content-length": bytes.length }).end(bytes),
    () => response.writeHead(404).end(),
  );
});
server.on("error", (error) => {
  process.stderr.write(`serve-folder: ${error.message}\n`);
  process.exit(1);
});
server.listen(port, "127.0.0.1", () => process.stderr.write(`serve-folder: ${folder} on http://127.0.0.1:${port}/\n`));
for (const signal of ["SIGINT", "SIGTERM"] as const) process.on(signal, () => server.close(() => process.exit(0)));
