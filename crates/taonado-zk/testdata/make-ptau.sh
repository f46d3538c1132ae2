#!/usr/bin/env bash
# Regenerates pot6_final.ptau (a power-6 bn128 powers of tau prepared for phase 2) and
# pot6_export.json (a few of its points as snarkjs' own libraries decode them), the fixtures of
# taonado-zk's ptau tests. Deterministic: `new` plus a beacon contribution (no OS
# randomness), so the bytes, and the sha256 recorded in tests/it/ptau.rs, never change.
#
# Usage: SNARKJS_PREFIX=/path/with/node_modules/snarkjs ./make-ptau.sh
# (snarkjs 0.7.x; defaults to /tmp/bench-zk).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
prefix="${SNARKJS_PREFIX:-/tmp/bench-zk}"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
snarkjs() { npx --prefix "$prefix" snarkjs "$@" >/dev/null; }

snarkjs powersoftau new bn128 6 "$work/pot6_0.ptau"
snarkjs powersoftau beacon "$work/pot6_0.ptau" "$work/pot6_beacon.ptau" \
  0102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f 10 -n="taonado test beacon"
snarkjs powersoftau prepare phase2 "$work/pot6_beacon.ptau" "$here/pot6_final.ptau"
# snarkjs' `export json` prints raw Montgomery buffers as scalars, so read the points with
# its own libraries (binfileutils, ffjavascript) and print affine decimal coordinates.
(cd "$prefix" && node --input-type=module -e '
import { readBinFile } from "@iden3/binfileutils";
import { buildBn128 } from "ffjavascript";
import { writeFileSync } from "fs";
const [file, out] = process.argv.slice(1);
const curve = await buildBn128(true);
const { fd, sections } = await readBinFile(file, "ptau", 1);
async function points(id, group, offset, count) {
  const G = curve[group];
  const size = G.F.n8 * 2;
  const res = [];
  for (let i = 0; i < count; i++) {
    const buff = await fd.read(size, sections[id][0].p + (offset + i) * size);
    const obj = G.toObject(G.fromRprLEM(buff, 0));
    res.push(obj.slice(0, 2).map((c) => Array.isArray(c) ? c.map(String) : String(c)));
  }
  return res;
}
const excerpt = {
  tauG1: await points(2, "G1", 0, 3),
  tauG2: await points(3, "G2", 0, 2),
  alphaTauG1: await points(4, "G1", 0, 2),
  betaTauG1: await points(5, "G1", 0, 2),
  betaG2: await points(6, "G2", 0, 1),
  lagrangeG1_16: await points(12, "G1", 15, 2),
};
await fd.close();
await curve.terminate();
writeFileSync(out, JSON.stringify(excerpt, null, 1) + "\n");
' "$here/pot6_final.ptau" "$here/pot6_export.json")
sha256sum "$here/pot6_final.ptau"
