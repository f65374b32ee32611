// What every browser check shares: Debian's chromium with the flags this machine's closed
// network needs, a guard that blocks and records anything off loopback and collects console
// errors, page errors and CSP violations, a timed step transcript, and the PASS/FAIL exit.
import { chromium } from 'playwright-core';

const CHROMIUM_ARGS = ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync'];

export class Failure extends Error {}

const started = Date.now();
// Scripts that handle a secret replace it in everything printed.
let redact = (text) => String(text);

// Hides `secret` in every line this harness prints.
export function redactEverywhere(secret) {
  redact = (text) => String(text).split(secret).join('<TETHER_TOKEN>');
  return redact;
}

export function readEnv(names) {
  const missing = names.filter((n) => !process.env[n]);
  if (missing.length) {
    console.error(`FAIL: missing environment variable(s): ${missing.join(', ')}`);
    process.exit(1);
  }
  return Object.fromEntries(names.map((n) => [n, process.env[n]]));
}

export function stamp() {
  return `[${((Date.now() - started) / 1000).toFixed(1).padStart(6)} s]`;
}

export async function step(name, body) {
  const t = Date.now();
  console.log(`${stamp()} … ${name}`);
  const detail = await body();
  console.log(`${stamp()} ✓ ${name} (${((Date.now() - t) / 1000).toFixed(1)} s)${detail ? ` — ${redact(detail)}` : ''}`);
}

export function isLoopback(rawUrl) {
  let url;
  try {
    url = new URL(rawUrl);
  } catch {
    return false;
  }
  if (url.protocol === 'data:' || url.protocol === 'blob:' || url.protocol === 'about:') return true;
  const host = url.hostname.replace(/^\[|\]$/g, '');
  return host === 'localhost' || host === '::1' || /^127\.\d+\.\d+\.\d+$/.test(host);
}

// What the page must never do, collected for the whole run and checked at the end.
const seen = { offLoopback: [], consoleErrors: [], pageErrors: [], cspViolations: [] };

// Blocks and records every request to a non-loopback host and reports CSP violations, for
// every page of `context`.
export async function guardContext(context) {
  await context.route('**/*', (route) => {
    const url = route.request().url();
    if (isLoopback(url)) return route.continue();
    seen.offLoopback.push(url);
    return route.abort('blockedbyclient');
  });
  await context.exposeBinding('__reportCsp', (_source, violation) => seen.cspViolations.push(violation));
  await context.addInitScript(() => {
    document.addEventListener('securitypolicyviolation', (e) => {
      window.__reportCsp(`${e.violatedDirective} blocked ${e.blockedURI || 'inline'} (${e.sourceFile || '?'}:${e.lineNumber || '?'})`);
    });
  });
}

// Records `page`'s console errors (warnings do not count), page errors and off-loopback sockets.
export function guardPage(page) {
  page.on('console', (msg) => { if (msg.type() === 'error') seen.consoleErrors.push(redact(msg.text())); });
  page.on('pageerror', (err) => seen.pageErrors.push(redact(err.message)));
  page.on('websocket', (ws) => { if (!isLoopback(ws.url())) seen.offLoopback.push(ws.url()); });
}

// What the guard saw, as counts (the lists are printed with every failure).
export function guardProblems() {
  const problems = [];
  if (seen.offLoopback.length) problems.push(`${seen.offLoopback.length} request(s) to non-loopback hosts`);
  if (seen.consoleErrors.length) problems.push(`${seen.consoleErrors.length} console error(s)`);
  if (seen.pageErrors.length) problems.push(`${seen.pageErrors.length} page error(s)`);
  if (seen.cspViolations.length) problems.push(`${seen.cspViolations.length} CSP violation(s)`);
  return problems;
}

// Runs `run(browser)` in a fresh headless chromium and exits 0 (PASS) or 1 (FAIL, with what
// the guard saw).
export function runInBrowser(run) {
  const main = async () => {
    const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', headless: true, args: CHROMIUM_ARGS });
    try {
      await run(browser);
    } finally {
      await browser.close();
    }
  };
  main().then(
    () => {
      console.log(`${stamp()} PASS`);
      process.exit(0);
    },
    (err) => {
      console.error(`${stamp()} FAIL: ${redact(err instanceof Failure ? err.message : err.stack || err)}`);
      for (const [label, list] of [['console errors', seen.consoleErrors], ['page errors', seen.pageErrors],
        ['CSP violations', seen.cspViolations], ['off-loopback requests', seen.offLoopback]]) {
        for (const item of list) console.error(`  ${label}: ${redact(item).slice(0, 300)}`);
      }
      process.exit(1);
    },
  );
}
