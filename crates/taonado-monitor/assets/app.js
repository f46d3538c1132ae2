// The dashboard page: polls the monitor's JSON API and draws cards, tables and inline SVG
// line charts. No libraries and no network beyond the monitor itself, so it works offline.
"use strict";

function el(tag, attrs, text) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) e.setAttribute(k, v);
  if (text !== undefined) e.textContent = text;
  return e;
}

function fmt(v, digits) {
  if (v === null || v === undefined || Number.isNaN(v)) return "–";
  if (typeof v !== "number") return String(v);
  return v.toLocaleString("en-US", { maximumFractionDigits: digits === undefined ? 4 : digits });
}

// Series that are fractions (0..1) are shown as percentages; the others carry their unit.
const PERCENT = new Set(["tx_success_rate", "tx_error_rate"]);

function fmtMetric(key, v, digits) {
  if (PERCENT.has(key) && typeof v === "number" && !Number.isNaN(v)) {
    return (v * 100).toLocaleString("en-US", { maximumFractionDigits: 1, minimumFractionDigits: 1 }) + " %";
  }
  return fmt(v, digits);
}

// Unix seconds as ISO-8601 UTC, and its time of day for axis labels.
function isoUtc(unix) {
  return new Date(unix * 1000).toISOString().replace(/\.\d{3}Z$/, "Z");
}

function timeOfDay(unix) {
  return isoUtc(unix).slice(11, 19);
}

function ago(unix) {
  if (!unix) return "–";
  const s = Math.max(0, Math.round(Date.now() / 1000 - unix));
  if (s < 120) return s + " s ago";
  if (s < 7200) return Math.round(s / 60) + " min ago";
  return Math.round(s / 3600) + " h ago";
}

function fillRows(id, rows) {
  const body = document.querySelector("#" + id + " tbody");
  body.replaceChildren();
  if (rows.length === 0) {
    const tr = el("tr");
    const td = el("td", { colspan: "9", class: "muted" }, "none");
    tr.appendChild(td);
    body.appendChild(tr);
    return;
  }
  for (const cells of rows) {
    const tr = el("tr");
    for (const c of cells) {
      const td = el("td", c.cls ? { class: c.cls } : {}, c.text);
      tr.appendChild(td);
    }
    body.appendChild(tr);
  }
}

const CARDS = [
  ["active_miners", "Active miners", 0],
  ["wtao_supply_tao", "WTAO supply (TAO)", 4],
  ["pools_total_tao", "In pools (TAO)", 4],
  ["validator_balance_tao", "Bounty balance (TAO)", 4],
  ["tx_success_rate", "Tx success rate", 1],
  ["tx_error_rate", "Contract error rate", 1],
  ["avg_gas_price_gwei", "Avg gas price (gwei)", 3],
  ["gas_price_now_gwei", "Gas price now (gwei)", 3],
  ["weight_sets", "Weight sets (window)", 0],
  ["blocks_since_weight_set", "Blocks since weights", 0],
  ["block", "Checkpoint block", 0],
  ["checkpoint_lag", "Checkpoint lag", 0],
];

// [series, title, unit shown on hover]
const CHARTS = [
  ["avg_gas_price_gwei", "Average gas price (gwei)", "gwei"],
  ["tx_success_rate", "Transaction success rate (%)", ""],
  ["wtao_supply_tao", "WTAO supply (TAO)", "TAO"],
  ["active_miners", "Active miners", "miners"],
  ["blocks_since_weight_set", "Blocks since last weight set", "blocks"],
  ["validator_balance_tao", "EvmValidator bounty balance (TAO)", "TAO"],
  ["checkpoint_lag", "Checkpoint lag (blocks)", "blocks"],
];

function renderCards(sample) {
  const box = document.getElementById("cards");
  box.replaceChildren();
  for (const [key, label, digits] of CARDS) {
    const card = el("div", { class: "card", "data-metric": key });
    card.appendChild(el("div", { class: "label" }, label));
    card.appendChild(el("div", { class: "value" }, fmtMetric(key, sample ? sample[key] : null, digits)));
    box.appendChild(card);
  }
}

const SVG = "http://www.w3.org/2000/svg";

function chart(key, title, unit, points) {
  const box = el("div", { class: "chart" });
  const show = (v) => fmtMetric(key, v, 3) + (unit ? " " + unit : "");
  box.appendChild(el("div", { class: "title" }, title));
  const svg = document.createElementNS(SVG, "svg");
  const W = 300, H = 110, P = 4;
  svg.setAttribute("viewBox", "0 0 " + W + " " + (H + 10));
  svg.setAttribute("preserveAspectRatio", "none");
  const ys = points.map((p) => p[1]);
  if (points.length === 0) {
    const t = document.createElementNS(SVG, "text");
    t.setAttribute("x", "10"); t.setAttribute("y", "60");
    t.textContent = "no data yet";
    svg.appendChild(t);
  } else {
    let lo = Math.min(...ys), hi = Math.max(...ys);
    if (hi === lo) {
      // A flat series: centre it with a margin proportional to its value.
      const pad = Math.abs(hi) * 0.1 || 1;
      hi += pad;
      lo -= pad;
    }
    const x0 = points[0][0], x1 = points[points.length - 1][0];
    const sx = (x) => (x1 === x0 ? W / 2 : P + ((x - x0) / (x1 - x0)) * (W - 2 * P));
    const sy = (y) => H - P - ((y - lo) / (hi - lo)) * (H - 2 * P);
    const line = document.createElementNS(SVG, "polyline");
    line.setAttribute("points", points.map((p) => sx(p[0]).toFixed(1) + "," + sy(p[1]).toFixed(1)).join(" "));
    svg.appendChild(line);
    // Each sample: a dot whose tooltip gives its time (UTC) and value with its unit.
    for (const [x, y] of points) {
      const dot = document.createElementNS(SVG, "circle");
      dot.setAttribute("cx", sx(x).toFixed(1)); dot.setAttribute("cy", sy(y).toFixed(1));
      dot.setAttribute("r", "2");
      const tip = document.createElementNS(SVG, "title");
      tip.textContent = isoUtc(x) + ": " + show(y);
      dot.appendChild(tip);
      svg.appendChild(dot);
    }
    for (const [y, v] of [[10, hi], [H, lo]]) {
      const t = document.createElementNS(SVG, "text");
      t.setAttribute("x", "2"); t.setAttribute("y", String(y));
      t.textContent = fmtMetric(key, v, 3);
      svg.appendChild(t);
    }
  }
  box.appendChild(svg);
  if (points.length > 0) {
    // The time axis: the first and the last sample, UTC.
    const axis = el("div", { class: "axis", "data-x-axis": "utc" });
    axis.appendChild(el("span", {}, timeOfDay(points[0][0])));
    axis.appendChild(el("span", {}, timeOfDay(points[points.length - 1][0]) + " UTC"));
    box.appendChild(axis);
  }
  box.setAttribute("data-points", String(points.length));
  return box;
}

function renderCharts(samples) {
  const box = document.getElementById("charts");
  box.replaceChildren();
  for (const [key, title, unit] of CHARTS) {
    const points = samples
      .filter((s) => s[key] !== null && s[key] !== undefined && !Number.isNaN(s[key]))
      .map((s) => [s.at_unix, s[key]]);
    box.appendChild(chart(key, title, unit, points));
  }
}

// A u16 fixed-point share (weights, incentive) as a percentage of 65535.
function share(v) {
  if (v === null || v === undefined) return "–";
  return (v / 655.35).toLocaleString("en-US", { maximumFractionDigits: 2, minimumFractionDigits: 2 }) + " %";
}

function renderMiners(m) {
  const at = document.getElementById("miners-at");
  if (!m.view) {
    at.textContent = m.error ? m.error : "no snapshot yet";
    fillRows("miners", []);
    return;
  }
  const v = m.view;
  at.textContent = "block " + v.block + ", " + v.weights_contract + ", goal " + v.deposit_goal_tao + " TAO" +
    (v.mismatches ? ", " + v.mismatches + " weights differ from the recomputation" : "") + (m.error ? " (" + m.error + ")" : "");
  fillRows("miners", v.miners.map((n) => {
    const same = n.weight_onchain === n.weight_recomputed;
    const addresses = n.burn ? "burn uid: associations never count" :
      n.addresses.length === 0 ? "none" :
      n.addresses.map((a) => a.address + " (" + a.wtao_tao + " WTAO, " + a.lifetime_deposits_tao + " deposited)").join("\n") +
      (n.association_count > n.addresses.length ? "\n+" + (n.association_count - n.addresses.length) + " not counted" : "");
    return [
      { text: String(n.uid) }, { text: n.hotkey, cls: "mono" }, { text: addresses, cls: "mono lines" },
      { text: n.wtao_tao + " TAO" }, { text: n.lifetime_deposits_tao + " TAO" },
      { text: share(n.weight_onchain) }, { text: share(n.weight_recomputed), cls: same ? "yes" : "no" },
      { text: share(n.incentive) }, { text: n.emission_tao + " TAO" }];
  }));
}

function sev(a) { return { text: a.severity, cls: "sev-" + a.severity }; }

async function refresh() {
  try {
    const [summary, series, alerts, miners] = await Promise.all(
      ["/api/summary", "/api/series", "/api/alerts?limit=30", "/api/miners"].map((u) => fetch(u).then((r) => {
        if (!r.ok) throw new Error(u + ": HTTP " + r.status);
        return r.json();
      })));
    document.getElementById("network").textContent = summary.network + " (chain " + summary.chain_id + ")";
    const status = document.getElementById("status");
    const healthy = summary.ready && summary.firing === 0;
    status.textContent = !summary.ready ? "waiting for the indexer" : summary.firing === 0 ? "healthy" : summary.firing + " firing";
    status.className = "badge " + (healthy ? "ok" : "bad");
    document.getElementById("updated").textContent = "updated " + new Date().toLocaleTimeString();
    renderCards(summary.sample);
    renderCharts(series.samples);
    document.getElementById("firing-count").textContent = alerts.firing.length ? "(" + alerts.firing.length + ")" : "";
    fillRows("firing", alerts.firing.map((a) => [sev(a), { text: a.rule }, { text: a.summary }, { text: ago(a.fired_at) }]));
    fillRows("recent", alerts.recent.map((a) => [{ text: a.state }, sev(a), { text: a.rule }, { text: a.summary }, { text: ago(a.updated_at) }]));
    renderMiners(miners);
    fillRows("pools", summary.pools.map((p) => [
      { text: p.address, cls: "mono" }, { text: p.denomination_tao + " TAO" }, { text: fmt(p.balance_tao) + " TAO" },
      { text: String(p.anonymity_set) }, { text: String(p.withdrawals) },
      { text: p.consistent ? "ok" : "MISMATCH", cls: p.consistent ? "yes" : "no" }]));
    fillRows("contracts", summary.contracts.map((c) => [
      { text: c.name }, { text: c.address, cls: "mono" },
      { text: c.has_code ? "yes" : "no", cls: c.has_code ? "yes" : "no" },
      { text: c.responsive ? "yes" : "no", cls: c.responsive ? "yes" : "no" }]));
    const errs = summary.errors.concat(summary.last_error ? [summary.last_error] : []);
    document.getElementById("errors").textContent = errs.join("\n");
    document.body.setAttribute("data-loaded", "true");
  } catch (e) {
    document.getElementById("status").textContent = "monitor unreachable";
    document.getElementById("status").className = "badge bad";
    document.getElementById("errors").textContent = String(e);
  }
}

refresh();
setInterval(refresh, 5000);
