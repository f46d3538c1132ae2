#!/usr/bin/env node
// Builds the committed contract artifacts with the pinned solc-js (package.json).
//
//   node contracts/build.mjs           compile contracts/src/**/*.{sol,yul} and write
//                                      crates/taonado-contracts/artifacts/*.json, plus the
//                                      exact standard-JSON input (every source, OpenZeppelin's
//                                      included) that explorer verification submits
//   node contracts/build.mjs --check   compile in memory; exit 1 with a summary if any
//                                      committed artifact differs (or is missing/extra)
//   --verbose                          print solc's warnings in full
//
// Safe's contracts (v1.4.1) are not compiled here: their npm package's own build artifacts
// (@safe-global/safe-contracts, pinned in package.json) are copied byte for byte into
// crates/taonado-contracts/artifacts/safe/, with safe/sha256.json pinning each file. --check
// also verifies that every committed Safe artifact equals the package's bytes.
//
// Output is a pure function of the sources, the compiler and the settings below: sorted keys,
// two-space JSON with a trailing newline, no timestamps and no absolute paths.
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join, relative, sep } from "node:path";
import { fileURLToPath } from "node:url";
import { createRequire } from "node:module";

const require = createRequire(import.meta.url);
const solc = require("solc");

const CONTRACTS_DIR = dirname(fileURLToPath(import.meta.url));
const ROOT = dirname(CONTRACTS_DIR);
const SRC_DIR = join(CONTRACTS_DIR, "src");
const NODE_MODULES = join(ROOT, "node_modules");
const OUT_DIR = join(ROOT, "crates", "taonado-contracts", "artifacts");
const BUILD_INFO = "build-info.json";
// The Solidity standard-JSON input as compiled, so `taonado verify` needs no node_modules.
const STANDARD_JSON_INPUT = "standard-json-input.json";

const SOLC_VERSION = "0.8.37+commit.f401782d.Emscripten.clang";
// The oldest EVM version that works end to end. The sources compile down to constantinople,
// but a chain older than London cannot take EIP-1559 (type 2) transactions, which Bittensor
// (20 gwei base fee) and alloy use. London bytecode has no PUSH0, MCOPY or transient storage,
// so it runs on Bittensor's Frontier EVM whatever its exact spec. The dev chain runs London too.
const EVM_VERSION = "london";
// What each artifact carries (the output selection does not change the bytecode).
const ARTIFACT_OUTPUTS = [
  "abi",
  "evm.bytecode.object",
  "evm.deployedBytecode.object",
  "evm.deployedBytecode.immutableReferences",
  "evm.methodIdentifiers",
  "storageLayout",
];
// The settings an explorer compiles with (taonado-ops' `explorer::solc_settings`).
const EXPLORER_SETTINGS = {
  evmVersion: EVM_VERSION,
  optimizer: { enabled: true, runs: 200 },
  metadata: { bytecodeHash: "ipfs" },
  outputSelection: { "*": { "*": ARTIFACT_OUTPUTS } },
};
const SETTINGS = {
  ...EXPLORER_SETTINGS,
  outputSelection: {
    "*": {
      // The AST is read only for the ERC-7201 namespaces (see storageNamespaces below).
      "": ["ast"],
      // The metadata lists each source's keccak256, which `taonado verify` checks before it
      // submits a source.
      "*": [...ARTIFACT_OUTPUTS, "metadata"],
    },
  },
};
const YUL_SETTINGS = {
  evmVersion: EVM_VERSION,
  optimizer: { enabled: true, runs: 200, details: { yul: true } },
  outputSelection: { "*": { "*": ["evm.bytecode.object", "evm.deployedBytecode.object"] } },
};
// Contracts from node_modules that get an artifact (everything else there is only imported).
const EXTERNAL_ARTIFACTS = new Set(["ERC1967Proxy"]);
// A Yul object has no ABI of its own; it takes the ABI of the Solidity interface it implements.
const YUL_ABI_FROM_INTERFACE = { MiMCSponge: "IHasher" };

// Safe v1.4.1: the audited build artifacts (Hardhat format) of the npm package, copied as they are.
const SAFE_PACKAGE = "@safe-global/safe-contracts";
const SAFE_VERSION = "1.4.1";
const SAFE_OUT_DIR = join(OUT_DIR, "safe");
const SAFE_PINS = "sha256.json";
const SAFE_ARTIFACTS = {
  "Safe.json": "contracts/Safe.sol/Safe.json",
  "SafeL2.json": "contracts/SafeL2.sol/SafeL2.json",
  "SafeProxy.json": "contracts/proxies/SafeProxy.sol/SafeProxy.json",
  "SafeProxyFactory.json": "contracts/proxies/SafeProxyFactory.sol/SafeProxyFactory.json",
  "CompatibilityFallbackHandler.json": "contracts/handler/CompatibilityFallbackHandler.sol/CompatibilityFallbackHandler.json",
  "MultiSend.json": "contracts/libraries/MultiSend.sol/MultiSend.json",
  "MultiSendCallOnly.json": "contracts/libraries/MultiSendCallOnly.sol/MultiSendCallOnly.json",
};

// The Safe files as the package ships them (bytes), and their pin file.
function safeArtifacts() {
  const pkgDir = join(NODE_MODULES, ...SAFE_PACKAGE.split("/"));
  const pkgJson = join(pkgDir, "package.json");
  if (!existsSync(pkgJson)) throw new Error(`${SAFE_PACKAGE} not found in node_modules; run npm ci`);
  const version = JSON.parse(readFileSync(pkgJson, "utf8")).version;
  if (version !== SAFE_VERSION) {
    throw new Error(`${SAFE_PACKAGE} ${version} is installed but ${SAFE_VERSION} is pinned; run npm ci`);
  }
  const files = new Map();
  for (const name of Object.keys(SAFE_ARTIFACTS).sort()) {
    files.set(name, readFileSync(join(pkgDir, "build", "artifacts", ...SAFE_ARTIFACTS[name].split("/"))));
  }
  const pins = render({
    package: SAFE_PACKAGE,
    version: SAFE_VERSION,
    sources: SAFE_ARTIFACTS,
    sha256: Object.fromEntries(
      [...files.entries()].map(([name, bytes]) => [name, createHash("sha256").update(bytes).digest("hex")]),
    ),
  });
  files.set(SAFE_PINS, Buffer.from(pins, "utf8"));
  return files;
}

function walk(dir) {
  const out = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) out.push(...walk(path));
    else out.push(path);
  }
  return out;
}

// Source unit names are relative to contracts/ with forward slashes ("src/token/WTAO.sol"),
// so that the metadata (and with it the bytecode) does not depend on where the repo lives.
const unitName = (path) => relative(CONTRACTS_DIR, path).split(sep).join("/");

function findImport(path) {
  if (path.startsWith("@openzeppelin/")) {
    const file = join(NODE_MODULES, ...path.split("/"));
    if (existsSync(file)) return { contents: readFileSync(file, "utf8") };
    return { error: `${path} not found in node_modules; run npm ci` };
  }
  const file = join(CONTRACTS_DIR, ...path.split("/"));
  if (existsSync(file)) return { contents: readFileSync(file, "utf8") };
  return { error: `${path} not found` };
}

function compile(input) {
  const output = JSON.parse(solc.compile(JSON.stringify(input), { import: findImport }));
  const errors = (output.errors ?? []).filter((e) => e.severity === "error");
  const warnings = (output.errors ?? []).filter((e) => e.severity !== "error");
  if (VERBOSE) for (const e of warnings) process.stderr.write(`${e.formattedMessage ?? e.message}\n`);
  else if (warnings.length > 0) process.stderr.write(`solc: ${warnings.length} warning(s); --verbose shows them\n`);
  if (errors.length > 0) {
    for (const e of errors) process.stderr.write(`${e.formattedMessage ?? e.message}\n`);
    throw new Error(`solc reported ${errors.length} error(s)`);
  }
  return output;
}

const VERBOSE = process.argv.includes("--verbose");
const hex = (object) => (object ? `0x${object}` : "0x");

// Recursively sorts object keys so that JSON.stringify is canonical.
function canonical(value) {
  if (Array.isArray(value)) return value.map(canonical);
  if (value && typeof value === "object") {
    return Object.fromEntries(
      Object.keys(value)
        .sort()
        .map((k) => [k, canonical(value[k])]),
    );
  }
  return value;
}
const render = (value) => `${JSON.stringify(canonical(value), null, 2)}\n`;

// OpenZeppelin 5's upgradeable bases keep their state in ERC-7201 namespaced structs
// (`@custom:storage-location erc7201:<id>`), which solc's storageLayout does not list. An upgrade
// check needs them, so every contract gets the namespaced structs of its whole inheritance chain,
// base first: the namespace id, the declaring contract, and the members with their types.
const STORAGE_LOCATION = /@custom:storage-location\s+erc7201:(\S+)/;

function contractNodes(output) {
  const byId = new Map();
  const byName = new Map();
  for (const [sourceName, source] of Object.entries(output.sources ?? {})) {
    for (const node of source.ast?.nodes ?? []) {
      if (node.nodeType !== "ContractDefinition") continue;
      byId.set(node.id, node);
      byName.set(`${sourceName}:${node.name}`, node);
    }
  }
  return { byId, byName };
}

function storageNamespaces(nodes, sourceName, contractName) {
  const contract = nodes.byName.get(`${sourceName}:${contractName}`);
  if (!contract) return [];
  const out = [];
  for (const id of [...contract.linearizedBaseContracts].reverse()) {
    const base = nodes.byId.get(id);
    for (const node of base?.nodes ?? []) {
      if (node.nodeType !== "StructDefinition") continue;
      const match = STORAGE_LOCATION.exec(node.documentation?.text ?? "");
      if (!match) continue;
      out.push({
        id: match[1],
        contract: base.name,
        struct: node.name,
        members: node.members.map((m) => ({ label: m.name, type: m.typeDescriptions.typeString })),
      });
    }
  }
  return out;
}

function buildArtifacts() {
  const files = walk(SRC_DIR).sort();
  const solFiles = files.filter((f) => f.endsWith(".sol"));
  const yulFiles = files.filter((f) => f.endsWith(".yul"));

  const sources = Object.fromEntries(solFiles.map((f) => [unitName(f), { content: readFileSync(f, "utf8") }]));
  const output = compile({ language: "Solidity", sources, settings: SETTINGS });

  const artifacts = new Map();
  const abis = new Map();
  const nodes = contractNodes(output);
  for (const sourceName of Object.keys(output.contracts).sort()) {
    for (const [contractName, c] of Object.entries(output.contracts[sourceName])) {
      abis.set(contractName, c.abi);
      const ours = sourceName.startsWith("src/");
      if (!ours && !EXTERNAL_ARTIFACTS.has(contractName)) continue;
      // Interfaces, abstract contracts and libraries without code are not deployable.
      if (!c.evm.bytecode.object) continue;
      if (artifacts.has(contractName)) {
        throw new Error(`two contracts named ${contractName}; artifact names must be unique`);
      }
      artifacts.set(contractName, {
        contractName,
        sourceName,
        abi: c.abi,
        bytecode: hex(c.evm.bytecode.object),
        deployedBytecode: hex(c.evm.deployedBytecode.object),
        immutableReferences: c.evm.deployedBytecode.immutableReferences ?? {},
        methodIdentifiers: c.evm.methodIdentifiers ?? {},
        storageLayout: c.storageLayout ?? { storage: [], types: null },
        metadata: c.metadata,
      });
      const namespaces = storageNamespaces(nodes, sourceName, contractName);
      // Only contracts that have namespaced storage carry the key, so the others' artifacts stay as they were.
      if (namespaces.length > 0) artifacts.get(contractName).storageNamespaces = namespaces;
    }
  }

  for (const file of yulFiles) {
    const sourceName = unitName(file);
    const out = compile({
      language: "Yul",
      sources: { [sourceName]: { content: readFileSync(file, "utf8") } },
      settings: YUL_SETTINGS,
    });
    for (const [contractName, c] of Object.entries(out.contracts[sourceName])) {
      if (artifacts.has(contractName)) {
        throw new Error(`two contracts named ${contractName}; artifact names must be unique`);
      }
      const iface = YUL_ABI_FROM_INTERFACE[contractName];
      const abi = iface ? abis.get(iface) : [];
      if (iface && !abi) throw new Error(`interface ${iface} for Yul object ${contractName} was not compiled`);
      const methodIdentifiers = {};
      if (iface) {
        const ifaceSource = Object.keys(output.contracts).find((s) => output.contracts[s][iface]);
        Object.assign(methodIdentifiers, output.contracts[ifaceSource][iface].evm.methodIdentifiers);
      }
      artifacts.set(contractName, {
        contractName,
        sourceName,
        abi,
        bytecode: hex(c.evm.bytecode.object),
        deployedBytecode: hex(c.evm.deployedBytecode?.object),
        immutableReferences: {},
        methodIdentifiers,
        storageLayout: { storage: [], types: null },
      });
    }
  }

  const rendered = new Map();
  for (const name of [...artifacts.keys()].sort()) {
    rendered.set(`${name}.json`, render(artifacts.get(name)));
  }
  // Every unit solc read (ours and the imported OpenZeppelin files), with its exact text.
  const compiled = Object.fromEntries(
    Object.keys(output.sources)
      .sort()
      .map((unit) => {
        const found = findImport(unit);
        if (found.error) throw new Error(found.error);
        return [unit, { content: found.contents }];
      }),
  );
  rendered.set(
    STANDARD_JSON_INPUT,
    render({ language: "Solidity", sources: compiled, settings: EXPLORER_SETTINGS }),
  );
  const sha256 = Object.fromEntries(
    [...rendered.entries()].map(([file, text]) => [file, createHash("sha256").update(text).digest("hex")]),
  );
  rendered.set(
    BUILD_INFO,
    render({
      compiler: { name: "solc-js", version: solc.version() },
      settings: { solidity: SETTINGS, yul: YUL_SETTINGS },
      sources: [...solFiles, ...yulFiles].map(unitName).sort(),
      artifacts: sha256,
    }),
  );
  return rendered;
}

function main() {
  const check = process.argv.includes("--check");
  if (solc.version() !== SOLC_VERSION) {
    throw new Error(`solc ${solc.version()} is installed but ${SOLC_VERSION} is pinned; run npm ci`);
  }
  const rendered = buildArtifacts();
  const existing = existsSync(OUT_DIR) ? readdirSync(OUT_DIR).filter((f) => f.endsWith(".json")) : [];
  const safe = safeArtifacts();
  const safeExisting = existsSync(SAFE_OUT_DIR) ? readdirSync(SAFE_OUT_DIR).filter((f) => f.endsWith(".json")) : [];

  if (check) {
    const problems = [];
    for (const [file, text] of rendered) {
      const path = join(OUT_DIR, file);
      if (!existsSync(path)) problems.push(`missing  ${file}`);
      else if (readFileSync(path, "utf8") !== text) problems.push(`differs  ${file}`);
    }
    for (const file of existing) if (!rendered.has(file)) problems.push(`stale    ${file}`);
    for (const [file, bytes] of safe) {
      const path = join(SAFE_OUT_DIR, file);
      if (!existsSync(path)) problems.push(`missing  safe/${file}`);
      else if (!readFileSync(path).equals(bytes)) problems.push(`differs  safe/${file} (not ${SAFE_PACKAGE} ${SAFE_VERSION}'s bytes)`);
    }
    for (const file of safeExisting) if (!safe.has(file)) problems.push(`stale    safe/${file}`);
    if (problems.length > 0) {
      process.stderr.write(`artifacts are out of date (run node contracts/build.mjs):\n  ${problems.join("\n  ")}\n`);
      process.exit(1);
    }
    process.stdout.write(`${rendered.size} artifacts and ${safe.size} Safe ${SAFE_VERSION} files up to date\n`);
    return;
  }

  mkdirSync(OUT_DIR, { recursive: true });
  for (const file of existing) if (!rendered.has(file)) rmSync(join(OUT_DIR, file));
  for (const [file, text] of rendered) writeFileSync(join(OUT_DIR, file), text);
  mkdirSync(SAFE_OUT_DIR, { recursive: true });
  for (const file of safeExisting) if (!safe.has(file)) rmSync(join(SAFE_OUT_DIR, file));
  for (const [file, bytes] of safe) writeFileSync(join(SAFE_OUT_DIR, file), bytes);
  process.stdout.write(`wrote ${rendered.size} files to ${relative(ROOT, OUT_DIR)} and ${safe.size} to ${relative(ROOT, SAFE_OUT_DIR)}\n`);
}

main();
