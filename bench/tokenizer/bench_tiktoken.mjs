// bench/tokenizer/bench_tiktoken.mjs — tiktoken (npm, WASM) "gpt2" encoding throughput on
// the same files: best of 3 whole-file encode() calls.  usage: node bench_tiktoken.mjs FILE...
// (packages resolved from ORACLE_NODE_MODULES, default build/node/node_modules)
import { createRequire } from "module";
import fs from "fs";
import path from "path";
const nm = path.resolve(process.env.ORACLE_NODE_MODULES || "build/node/node_modules");
const require = createRequire(path.join(nm, "noop.js"));
const { get_encoding } = require("tiktoken");
for (const f of process.argv.slice(2)) {
  const text = fs.readFileSync(f, "utf8");
  const bytes = Buffer.byteLength(text);
  let best = Infinity, n = 0;
  for (let r = 0; r < 3; r++) {
    const enc = get_encoding("gpt2");
    const t0 = process.hrtime.bigint();
    n = enc.encode(text, "all").length;
    const dt = Number(process.hrtime.bigint() - t0) / 1e9;
    enc.free();
    best = Math.min(best, dt);
  }
  console.log(`tiktoken ${f.padEnd(12)} ${String(bytes).padStart(9)} bytes ${String(n).padStart(8)} tokens ${(bytes / best / 1e6).toFixed(2).padStart(8)} MB/s`);
}
