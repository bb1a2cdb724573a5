// Builds ImageKit URLs with the official npm SDKs, unchanged, for tests/sdk/test_sdk_imagekit.py:
// `imagekit` 6.0.0 (Node: url(), signed URLs with the private key) and `@imagekit/javascript`
// 5.5.1 (browser: buildSrc()).  stdin: {"endpoint": "http://127.0.0.1:PORT/ik/demo",
// "privateKey": "...", "calls": [{"sdk": "node"|"javascript", "options": {...}}, ...]};
// stdout: one JSON list of the URLs built, in order.
"use strict";
const ImageKit = require("imagekit");
const { buildSrc } = require("@imagekit/javascript");

async function main() {
  let input = "";
  for await (const chunk of process.stdin) input += chunk;
  const { endpoint, privateKey, calls } = JSON.parse(input);
  const node = new ImageKit({ publicKey: "unused_public_key", privateKey, urlEndpoint: endpoint });
  const out = calls.map(({ sdk, options }) => {
    if (sdk === "node") return node.url(options);
    if (sdk === "javascript") return buildSrc({ urlEndpoint: endpoint, ...options });
    throw new Error(`unknown sdk ${sdk}`);
  });
  process.stdout.write(JSON.stringify(out));
}

main().catch((err) => {
  process.stderr.write(String((err && err.stack) || err));
  process.exit(1);
});
