// Real-browser check of the /jobs dashboard: headless Debian chromium, driven by playwright-core.
//
//   TETHER_URL=http://127.0.0.1:8080 TETHER_EMAIL=me@example.com TETHER_PASSWORD='…' \
//   CONNECTION_NAME='Acme GitHub' SCREENSHOT=/tmp/jobs.png node jobs.mjs
//
// Optional: SCREENSHOT_MOBILE=/tmp/jobs-phone.png (a full-page shot at 390 px wide).
// Exits 0 when every step passed, 1 with the reason otherwise.
import {
  Failure, guardContext, guardPage, guardProblems, readEnv, runInBrowser, stamp, step,
} from './harness.mjs';

const WAIT_MS = 60_000;
const EXPECTED_QUEUES = 8;

const env = readEnv(['TETHER_URL', 'TETHER_EMAIL', 'TETHER_PASSWORD', 'CONNECTION_NAME', 'SCREENSHOT']);
const base = env.TETHER_URL.replace(/\/+$/, '');


// Waits for a condition in the page; on timeout, fails with what the page showed instead.
async function waitInPage(page, what, predicate, arg) {
  try {
    const handle = await page.waitForFunction(predicate, arg, { timeout: WAIT_MS, polling: 100 });
    return await handle.jsonValue();
  } catch (err) {
    if (!/Timeout/i.test(err.message)) throw err;
    const seen = await page.evaluate(snapshot, env.CONNECTION_NAME).catch(() => 'page not readable');
    throw new Failure(`timed out after ${WAIT_MS / 1000} s waiting for ${what}\n  page shows: ${seen}`);
  }
}

// Runs in the page: a one-line summary for failure messages.
function snapshot(name) {
  const rows = [...document.querySelectorAll('[data-testid="connection-row"]')];
  const row = rows.find((r) => r.querySelector('[data-testid="connection-name"]')?.textContent === name);
  const runs = row
    ? [...document.querySelectorAll(`[data-testid="run-row"]`)].filter((r) => r.dataset.connectionId === row.dataset.connectionId)
    : [];
  const live = document.querySelector('[data-testid="live-indicator"]')?.dataset.state;
  const toasts = [...document.querySelectorAll('.toast')].map((t) => t.textContent);
  return JSON.stringify({
    live,
    connection: row ? { id: row.dataset.connectionId, status: row.dataset.status } : `no row named ${name} (rows: ${rows.length})`,
    runs: runs.slice(0, 5).map((r) => `${r.dataset.runId}:${r.dataset.outcome}`),
    toasts,
  });
}

// Runs in the page: the connection row with this exact name, as { id, status } or null.
function connectionByName(name) {
  const row = [...document.querySelectorAll('[data-testid="connection-row"]')]
    .find((r) => r.querySelector('[data-testid="connection-name"]')?.textContent === name);
  return row ? { id: row.dataset.connectionId, status: row.dataset.status } : null;
}


async function run(browser) {
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });

  // 1. Nothing may leave the machine: block and record every request to a non-loopback host.
  await guardContext(context);
  const page = await context.newPage();
  guardPage(page);
  let navigations = 0;
  page.on('framenavigated', (frame) => { if (frame === page.mainFrame()) navigations += 1; });
  console.log(`${stamp()} ✓ browser up, off-loopback requests blocked, console/page errors and CSP violations recorded`);

  // 2. Sign in through the form.
  await step('open /jobs and sign in through the form', async () => {
    await page.goto(`${base}/jobs`, { waitUntil: 'load' });
    const form = page.getByTestId('signin-form');
    await form.waitFor({ state: 'visible', timeout: WAIT_MS });
    await form.locator('input[name="email"]').fill(env.TETHER_EMAIL);
    await form.locator('input[name="password"]').fill(env.TETHER_PASSWORD);
    // The form posts to /jobs/login, which answers 303 → /jobs: one main-frame navigation.
    await Promise.all([
      page.waitForEvent('framenavigated', { predicate: (f) => f === page.mainFrame(), timeout: WAIT_MS }),
      form.locator('button[type="submit"]').click(),
    ]);
    await page.waitForLoadState('load', { timeout: WAIT_MS });
    const error = (await page.locator('#signin-error').textContent())?.trim();
    if (error) throw new Failure(`sign-in refused: "${error}" (${page.url()})`);
    if (await page.locator('#member-notice').isVisible()) throw new Failure('signed in as a MEMBER: the dashboard needs an owner or admin');
    await page.getByTestId('connections').waitFor({ state: 'visible', timeout: WAIT_MS });
    return page.url();
  });

  // From here on the page must never reload: everything arrives live.
  await page.evaluate(() => { window.__noReload = true; });
  const navigationsAtStart = navigations;

  // With WAIT_FOR_CONNECTION=1 the caller creates the connection only now (it reads SIGNED_IN
  // and answers with a line), so its first discovery is watched from the start.
  if (process.env.WAIT_FOR_CONNECTION === '1') {
    console.log('SIGNED_IN');
    await new Promise((resolve) => process.stdin.once('data', resolve));
    process.stdin.pause();
  }

  // 3. The connection's first discovery finishes and shows up live.
  let connection;
  await step(`"${env.CONNECTION_NAME}" turns ACTIVE with a SUCCEEDED run, live`, async () => {
    connection = await waitInPage(page, `connection row "${env.CONNECTION_NAME}"`, connectionByName, env.CONNECTION_NAME);
    const first = connection.status;
    if (process.env.WAIT_FOR_CONNECTION === '1' && first === 'ACTIVE') {
      throw new Failure('the connection was already ACTIVE when it appeared: its first discovery was not seen live');
    }
    const runId = await waitInPage(page, `"${env.CONNECTION_NAME}" ACTIVE with a SUCCEEDED run-row`, (id) => {
      const row = [...document.querySelectorAll('[data-testid="connection-row"]')].find((r) => r.dataset.connectionId === id);
      const done = [...document.querySelectorAll('[data-testid="run-row"]')]
        .find((r) => r.dataset.connectionId === id && r.dataset.outcome === 'SUCCEEDED');
      return row && row.dataset.status === 'ACTIVE' && done ? done.dataset.runId : null;
    }, connection.id);
    return `status was ${first} when first seen; run ${runId}`;
  });

  // 4. "Sync now" starts a new run that appears and finishes without a reload.
  await step(`"Sync now" on "${env.CONNECTION_NAME}" shows a new run live until it finishes`, async () => {
    const before = await page.$$eval('[data-testid="run-row"]', (rows) => rows.map((r) => r.dataset.runId));
    const row = page.locator(`[data-testid="connection-row"][data-connection-id="${connection.id}"]`);
    const button = row.getByTestId('sync-now');
    await button.waitFor({ state: 'visible', timeout: WAIT_MS });
    if (await button.isDisabled()) throw new Failure('"Sync now" is disabled although the connection is ACTIVE');
    await button.click();
    const fresh = await waitInPage(page, 'a new run-row for the connection', ([id, known]) => {
      const row = [...document.querySelectorAll('[data-testid="run-row"]')]
        .find((r) => r.dataset.connectionId === id && !known.includes(r.dataset.runId));
      return row ? { runId: row.dataset.runId, outcome: row.dataset.outcome } : null;
    }, [connection.id, before]);
    const outcome = await waitInPage(page, `run ${fresh.runId} to finish`, (runId) => {
      const row = document.querySelector(`[data-testid="run-row"][data-run-id="${CSS.escape(runId)}"]`);
      return row && row.dataset.outcome !== 'RUNNING' ? row.dataset.outcome : null;
    }, fresh.runId);
    if (outcome !== 'SUCCEEDED') throw new Failure(`run ${fresh.runId} finished ${outcome}, expected SUCCEEDED`);
    return `run ${fresh.runId} first seen as ${fresh.outcome}, finished ${outcome}`;
  });

  // 5. Live indicator, queues and charts.
  await step('live indicator, queues and charts', async () => {
    const state = await page.getByTestId('live-indicator').getAttribute('data-state');
    if (state !== 'live') throw new Failure(`live indicator says "${state}", expected "live"`);
    const queues = await waitInPage(page, `${EXPECTED_QUEUES} queue rows`, (n) => {
      const rows = document.querySelectorAll('[data-testid="queues"] [data-testid="queue-row"]');
      return rows.length === n ? [...rows].map((r) => r.dataset.queue) : null;
    }, EXPECTED_QUEUES);
    const marks = {};
    for (const chart of ['chart-runs-per-hour', 'chart-durations']) {
      marks[chart] = await page.locator(`[data-testid="${chart}"] svg`).locator('rect, path').count();
      if (marks[chart] < 1) throw new Failure(`${chart} has no <rect> or <path>`);
    }
    return `queues: ${queues.join(', ')}; chart marks: ${JSON.stringify(marks)}`;
  });

  // 6. Phone width: the page itself never scrolls sideways (tables scroll in their own box).
  await step('no horizontal overflow at 390×844', async () => {
    await page.setViewportSize({ width: 390, height: 844 });
    await page.evaluate(() => new Promise((resolve) => requestAnimationFrame(() => requestAnimationFrame(resolve))));
    const overflow = await page.evaluate(() => {
      const width = window.innerWidth;
      const widest = Math.max(document.body.scrollWidth, document.documentElement.scrollWidth);
      if (widest <= width) return null;
      // Name the culprits: the elements whose right edge makes the page that wide.
      const culprits = [...document.body.querySelectorAll('*')]
        .filter((el) => el.getBoundingClientRect().right + window.scrollX >= widest - 1)
        .slice(-5).map((el) => `${el.tagName.toLowerCase()}${el.id ? `#${el.id}` : ''}${[...el.classList].map((c) => `.${c}`).join('')}`);
      return { width, widest, culprits };
    });
    if (overflow) throw new Failure(`page is ${overflow.widest}px wide in a ${overflow.width}px viewport; culprits: ${overflow.culprits.join(', ')}`);
    if (process.env.SCREENSHOT_MOBILE) await page.screenshot({ path: process.env.SCREENSHOT_MOBILE, fullPage: true });
    await page.setViewportSize({ width: 1280, height: 900 });
    return process.env.SCREENSHOT_MOBILE ? `phone screenshot: ${process.env.SCREENSHOT_MOBILE}` : '';
  });

  // 7. Screenshot, then the checks that cover the whole run.
  await step('full-page screenshot', async () => {
    await page.evaluate(() => new Promise((resolve) => requestAnimationFrame(() => requestAnimationFrame(resolve))));
    await page.screenshot({ path: env.SCREENSHOT, fullPage: true });
    return env.SCREENSHOT;
  });

  await step('no reload, nothing off loopback, no errors, no CSP violations', async () => {
    const stillSet = await page.evaluate(() => window.__noReload === true);
    const problems = [];
    if (!stillSet || navigations !== navigationsAtStart) {
      problems.push(`the page reloaded (window.__noReload ${stillSet ? 'kept' : 'lost'}, ${navigations - navigationsAtStart} main-frame navigation(s))`);
    }
    problems.push(...guardProblems());
    if (problems.length) throw new Failure(problems.join('\n  '));
    return `0 navigations after sign-in`;
  });
  await context.close();
}

runInBrowser(run);
