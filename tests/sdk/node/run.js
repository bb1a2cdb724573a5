// Drives the official npm cloudinary SDK, unchanged, for tests/sdk/test_sdk_node.py.
// The configuration comes from CLOUDINARY_URL (with upload_prefix pointing at the live
// test server); stdin holds a JSON list of calls, e.g.
//   [{"call": "uploader.upload", "args": ["/tmp/a.png", {"faces": true}]},
//    {"call": "api.resource", "args": ["a", {"faces": true}]}]
// and stdout gets one JSON list: each call's result, or {"error": {"http_code", "message"}}.
// Callback-style calls (upload_large, upload_chunked_stream) take the string "@callback"
// where the callback goes; an argument {"@pipe": "/tmp/file"} (removed from the call)
// pipes that file into the stream the call returns.
"use strict";
const cloudinary = require("cloudinary").v2;

async function main() {
  let input = "";
  for await (const chunk of process.stdin) input += chunk;
  const out = [];
  for (const { call, args } of JSON.parse(input)) {
    const [group, name] = call.split(".");
    const fn = cloudinary[group] && cloudinary[group][name];
    if (typeof fn !== "function") throw new Error(`unknown call ${call}`);
    if (args.includes("@callback")) {
      out.push(await withCallback(fn, cloudinary[group], args));
      continue;
    }
    try {
      out.push(await fn.apply(cloudinary[group], args));
    } catch (err) {
      const e = (err && err.error) || err || {};
      out.push({ error: { http_code: e.http_code || null, message: e.message || String(err) } });
    }
  }
  process.stdout.write(JSON.stringify(out));
}

function withCallback(fn, self, args) {
  const pipe = args.find((a) => a && typeof a === "object" && a["@pipe"]);
  const callArgs = args.filter((a) => a !== pipe);
  return new Promise((resolve) => {
    callArgs[callArgs.indexOf("@callback")] = (error, result) => resolve(
      error ? { error: { http_code: error.http_code || null, message: error.message || String(error) } } : result);
    const returned = fn.apply(self, callArgs);
    if (pipe) require("fs").createReadStream(pipe["@pipe"]).pipe(returned);
  });
}

main().catch((err) => {
  process.stderr.write(String((err && err.stack) || err));
  process.exit(1);
});
