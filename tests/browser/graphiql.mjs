// Real-browser check of the GraphiQL page at GET /graphql: headless Debian chromium, driven by
// playwright-core, with nothing reachable but loopback (so the vendored assets must be enough).
//
//   TETHER_URL=http://127.0.0.1:8080 TETHER_TOKEN=tth_… CONNECTION_ID=Q29ubmVjdGlvbjo… \
//   SCREENSHOT=/tmp/graphiql.png node graphiql.mjs
//
// TETHER_TOKEN is a session token of an OWNER (signUp's token); CONNECTION_ID the GraphQL id of
// one of its organization's connections. Exits 0 when every step passed, 1 with the reason
// otherwise. The token is never printed: transcripts and failure messages show <TETHER_TOKEN>.
import {
  Failure, guardContext, guardPage, guardProblems, readEnv, redactEverywhere, runInBrowser,
  stamp, step,
} from './harness.mjs';

const WAIT_MS = 60_000;
// GraphiQL copies an editor's text into its state on a debounce (~100 ms, measured when it was
// vendored); executing sooner runs the previous text. Five times that leaves room on a busy box.
const SETTLE_MS = 500;
// How long one syncConnection waits for its event before the subscription test asks again.
const RETRIGGER_MS = 5_000;

const env = readEnv(['TETHER_URL', 'TETHER_TOKEN', 'CONNECTION_ID', 'SCREENSHOT']);
const base = env.TETHER_URL.replace(/\/+$/, '');
const redact = redactEverywhere(env.TETHER_TOKEN);

// GraphiQL 4 (CodeMirror 5) editors. The Variables and Headers editors share one
// section.graphiql-editor-tool and are both always mounted; the inactive one only gets `.hidden`.
const QUERY_EDITOR = '.graphiql-query-editor .CodeMirror';
const HEADERS_TAB = '.graphiql-editor-tools button[data-name="headers"]';
const HEADERS_EDITOR = 'section.graphiql-editor-tool .graphiql-editor:not(.hidden) .CodeMirror';
const RESULT_PANE = '.graphiql-response .result-window .CodeMirror';
const EXECUTE = 'button.graphiql-execute-button';

// Every WebSocket the page opened, with the graphql-ws message types it sent and received
// (types only: connection_init carries the Authorization header).
const sockets = [];




// Runs in the page: what the editors and the result pane hold, for failure messages.
function snapshot(selectors) {
  const text = (sel) => {
    const el = document.querySelector(sel);
    return el ? (el.CodeMirror ? el.CodeMirror.getValue() : '(no CodeMirror)') : '(missing)';
  };
  return JSON.stringify({
    query: text(selectors.query).slice(0, 200),
    headers: text(selectors.headers).slice(0, 200),
    result: text(selectors.result).slice(0, 600),
    execute: document.querySelector(selectors.execute)?.getAttribute('aria-label') ?? '(missing)',
  });
}

// Waits for a condition in the page; on timeout, fails with what GraphiQL showed instead.
async function waitInPage(page, what, predicate, arg, timeout = WAIT_MS) {
  try {
    const handle = await page.waitForFunction(predicate, arg, { timeout, polling: 100 });
    return await handle.jsonValue();
  } catch (err) {
    if (!/Timeout/i.test(err.message)) throw err;
    throw new Failure(`timed out after ${timeout / 1000} s waiting for ${what}\n  page shows: ${await pageState(page)}`);
  }
}

async function pageState(page) {
  const seen = await page.evaluate(snapshot, { query: QUERY_EDITOR, headers: HEADERS_EDITOR, result: RESULT_PANE, execute: EXECUTE })
    .catch(() => 'page not readable');
  return redact(seen);
}

// Replaces an editor's text the way a user would: click into it, select all, then insert the
// text in one go. insertText rather than type(): typing key by key would trip CodeMirror's
// bracket auto-closing and the query editor's autocomplete popup. Checks that the editor took
// it verbatim, then leaves GraphiQL time to copy it into its state.
async function fillEditor(page, selector, text, what) {
  const editor = page.locator(selector);
  await editor.waitFor({ state: 'visible', timeout: WAIT_MS });
  await editor.click();
  await page.keyboard.press('ControlOrMeta+a');
  await page.keyboard.insertText(text);
  await waitInPage(page, `the ${what} editor to hold the new text`,
    ([sel, want]) => document.querySelector(sel)?.CodeMirror?.getValue() === want, [selector, text], 5_000);
  await page.waitForTimeout(SETTLE_MS);
}

// Runs in the page: the result pane's text once it satisfies `want` (every string in `all`
// present) or shows an error, else null. Both end the wait: an error is not going away.
function resultWhen({ selector, all, before }) {
  const value = document.querySelector(selector)?.CodeMirror?.getValue() ?? '';
  if (value === before) return null;
  if (all.every((s) => value.includes(s))) return { ok: true, value };
  if (/"errors"\s*:|"message"\s*:/.test(value)) return { ok: false, value };
  return null;
}

async function resultText(page) {
  return page.evaluate((sel) => document.querySelector(sel)?.CodeMirror?.getValue() ?? '', RESULT_PANE);
}

// A GraphQL POST from Node, outside the page: what a second client would do.
async function postGraphQL(query, variables) {
  const response = await fetch(`${base}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'application/json', authorization: `Bearer ${env.TETHER_TOKEN}` },
    body: JSON.stringify({ query, variables }),
  });
  const body = await response.text();
  let json;
  try {
    json = JSON.parse(body);
  } catch {
    throw new Failure(`POST /graphql answered ${response.status} with non-JSON: ${redact(body).slice(0, 300)}`);
  }
  if (!response.ok || json.errors?.length) {
    throw new Failure(`POST /graphql answered ${response.status}: ${redact(JSON.stringify(json)).slice(0, 300)}`);
  }
  return json.data;
}


async function run(browser) {
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });

  // 1. Nothing may leave the machine: block and record every request to a non-loopback host.
  //    GraphiQL from a CDN would show up here (and break), so this is what proves the vendoring.
  await guardContext(context);
  const page = await context.newPage();
  // GraphiQL and React log development warnings as 'warning'; only errors count.
  guardPage(page);
  page.on('websocket', (ws) => {
    const socket = { url: ws.url(), sent: [], received: [], closed: false };
    sockets.push(socket);
    const typeOf = (payload) => {
      try {
        return JSON.parse(payload).type ?? '?';
      } catch {
        return 'non-JSON';
      }
    };
    ws.on('framesent', (frame) => socket.sent.push(typeOf(frame.payload)));
    ws.on('framereceived', (frame) => socket.received.push(typeOf(frame.payload)));
    ws.on('close', () => { socket.closed = true; });
  });
  console.log(`${stamp()} ✓ browser up, off-loopback requests blocked, console/page errors and CSP violations recorded`);

  // 2. The page itself: GraphiQL, not the JSON endpoint, and under a CSP (without one, "no CSP
  //    violations" below would prove nothing).
  await step('open /graphql and wait for GraphiQL to render', async () => {
    const response = await page.goto(`${base}/graphql`, { waitUntil: 'load' });
    const type = response?.headers()['content-type'] ?? '';
    const csp = response?.headers()['content-security-policy'] ?? '';
    if (response?.status() !== 200 || !type.startsWith('text/html')) {
      throw new Failure(`GET /graphql answered ${response?.status()} ${type}, expected 200 text/html`);
    }
    if (!csp) throw new Failure('GET /graphql sent no Content-Security-Policy');
    await page.locator(EXECUTE).waitFor({ state: 'visible', timeout: WAIT_MS });
    await page.locator(QUERY_EDITOR).waitFor({ state: 'visible', timeout: WAIT_MS });
    return `${response.status()} ${type}; CSP connect-src: ${/connect-src ([^;]*)/.exec(csp)?.[1] ?? '(none)'}`;
  });

  // 3. The bearer token goes where a user puts it: the Headers tab. Queries send it as a request
  //    header, the WebSocket as connection_init's payload.
  const headers = JSON.stringify({ Authorization: `Bearer ${env.TETHER_TOKEN}` });
  await step('type the Authorization header into the Headers editor', async () => {
    await page.locator(HEADERS_TAB).click();
    const label = await page.locator('section.graphiql-editor-tool').getAttribute('aria-label');
    if (label !== 'Headers') throw new Failure(`after clicking the Headers tab the editor tool is "${label}"`);
    await fillEditor(page, HEADERS_EDITOR, headers, 'headers');
    return 'Headers editor holds {"Authorization":"Bearer <TETHER_TOKEN>"}';
  });

  // 4. A query over HTTP, authenticated by that header: OWNER only comes back with the token.
  await step('run a query: viewer is OWNER', async () => {
    const query = '{ viewer { role organization { name } } connections { totalCount } }';
    await fillEditor(page, QUERY_EDITOR, query, 'query');
    const before = await resultText(page);
    await page.locator(EXECUTE).click();
    const result = await waitInPage(page, 'the result pane to show "role": "OWNER"', resultWhen,
      { selector: RESULT_PANE, all: ['"role": "OWNER"'], before });
    if (!result.ok) throw new Failure(`the query answered an error instead of "role": "OWNER":\n  ${redact(result.value).slice(0, 600)}`);
    const data = JSON.parse(result.value).data;
    return `organization "${data.viewer.organization.name}", ${data.connections.totalCount} connection(s)`;
  });

  // 5. A subscription over GraphiQL's WebSocket, fed by a mutation from another client.
  await step(`subscribe to connectionUpdated over the WebSocket and see a sync of ${env.CONNECTION_ID} arrive`, async () => {
    const subscription = `subscription { connectionUpdated(id: ${JSON.stringify(env.CONNECTION_ID)}) { id status } }`;
    await fillEditor(page, QUERY_EDITOR, subscription, 'query');
    const before = await resultText(page);
    const socketsBefore = sockets.length;
    await page.locator(EXECUTE).click();

    // Sending before the server has the subscription would lose the event: wait until GraphiQL
    // has sent `subscribe` on a socket the server acknowledged.
    const deadline = Date.now() + WAIT_MS;
    let socket;
    while (!(socket = sockets.find((s) => s.received.includes('connection_ack') && s.sent.includes('subscribe')))) {
      const closed = sockets.find((s) => s.closed);
      if (closed) throw new Failure(`the WebSocket ${closed.url} closed (sent ${closed.sent.join(',')}; received ${closed.received.join(',') || 'nothing'})\n  page shows: ${await pageState(page)}`);
      if (Date.now() > deadline) {
        throw new Failure(`no acknowledged subscribe on a WebSocket after ${WAIT_MS / 1000} s (sockets: ${JSON.stringify(sockets)})\n  page shows: ${await pageState(page)}`);
      }
      await page.waitForTimeout(50);
    }
    const url = new URL(socket.url);
    if (url.pathname !== '/graphql' || url.protocol !== 'ws:' && url.protocol !== 'wss:') {
      throw new Failure(`GraphiQL subscribed over ${socket.url}, expected ws(s)://…/graphql`);
    }
    // GraphiQL shows "Stop" for as long as the subscription runs. A refused one (say, an id of
    // another organization) has already ended: report the error it renders.
    const label = await page.locator(EXECUTE).getAttribute('aria-label');
    if (!/^Stop/.test(label ?? '')) {
      const answer = await waitInPage(page, 'the ended subscription\'s answer', resultWhen,
        { selector: RESULT_PANE, all: ['"connectionUpdated"'], before }, 5_000).catch(() => null);
      throw new Failure(`the subscription ended before any event: the execute button says "${label}" `
        + `(socket received: ${socket.received.join(',')})\n  result: ${redact(answer?.value ?? await pageState(page)).slice(0, 600)}`);
    }

    // The server may still be between reading `subscribe` and listening for events; a later
    // sync announces the connection again, so ask again rather than fail on that race.
    const mutation = 'mutation($id: ID!) { syncConnection(input: {id: $id}) { connection { id } } }';
    let triggers = 0;
    let result = null;
    while (!result) {
      if (Date.now() > deadline) {
        throw new Failure(`no connectionUpdated for ${env.CONNECTION_ID} in the result pane after ${triggers} syncConnection(s) (socket received: ${socket.received.join(',')})\n  page shows: ${await pageState(page)}`);
      }
      const data = await postGraphQL(mutation, { id: env.CONNECTION_ID });
      triggers += 1;
      if (data.syncConnection?.connection?.id !== env.CONNECTION_ID) {
        throw new Failure(`syncConnection answered ${JSON.stringify(data)}`);
      }
      result = await waitInPage(page, 'connectionUpdated in the result pane', resultWhen,
        { selector: RESULT_PANE, all: ['"connectionUpdated"', JSON.stringify(env.CONNECTION_ID)], before }, RETRIGGER_MS)
        .catch((err) => { if (err instanceof Failure && /^timed out/.test(err.message)) return null; throw err; });
    }
    if (!result.ok) throw new Failure(`the subscription answered an error:\n  ${redact(result.value).slice(0, 600)}`);
    const event = JSON.parse(result.value).data.connectionUpdated;
    if (sockets.length - socketsBefore !== 1) throw new Failure(`${sockets.length - socketsBefore} WebSockets opened for one subscription`);
    return `${socket.url}: sent ${socket.sent.join(',')}; received ${socket.received.join(',')}; `
      + `event ${JSON.stringify(event)} after ${triggers} syncConnection(s)`;
  });

  // 6. Screenshot, then the checks that cover the whole run. The Headers editor shows the bearer
  //    token in clear, and screenshots end up as CI artifacts: it is painted over. The one-line
  //    query is scrolled back to its start, where the operation is readable.
  await step('full-page screenshot (Headers editor masked)', async () => {
    await page.evaluate((sel) => document.querySelector(sel)?.CodeMirror?.scrollTo(0, 0), QUERY_EDITOR);
    await page.evaluate(() => new Promise((resolve) => requestAnimationFrame(() => requestAnimationFrame(resolve))));
    await page.screenshot({ path: env.SCREENSHOT, fullPage: true, mask: [page.locator(HEADERS_EDITOR)] });
    return env.SCREENSHOT;
  });

  await step('token not stored, nothing off loopback, no errors, no CSP violations', async () => {
    // init.js keeps headers out of GraphiQL's storage (tabs and history): after two runs with the
    // token in the Headers editor, it must be nowhere in localStorage.
    const stored = await page.evaluate((token) => Object.keys(localStorage).filter((k) => localStorage.getItem(k).includes(token)), env.TETHER_TOKEN);
    const problems = [];
    if (stored.length) problems.push(`the token is stored in localStorage under ${stored.join(', ')}`);
    problems.push(...guardProblems());
    if (problems.length) throw new Failure(problems.join('\n  '));
    const keys = await page.evaluate(() => Object.keys(localStorage).filter((k) => k.startsWith('graphiql:')).sort());
    return `localStorage keys: ${keys.join(', ') || 'none'}`;
  });
  await context.close();
}

runInBrowser(run);
