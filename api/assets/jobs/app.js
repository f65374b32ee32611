// Tether jobs dashboard.
//
// Served as-is under a strict CSP (script-src 'self', style-src 'self', no inline code), so
// there is no framework and no build step: everything is drawn here with DOM APIs, and data
// only ever reaches the page through textContent and attributes, never innerHTML.
//
// Data flow: one GraphQL query loads everything; three subscriptions over a hand-written
// graphql-transport-ws client patch the state as events arrive; a throttled re-query
// (at most every 2 s) reconciles counts and charts after a burst of events.
'use strict';

const CSRF = metaContent('tether-csrf');
const ROLE = metaContent('tether-role');
const RUNS_SHOWN = 50; // fetched, and shown when expanded
const RUNS_COLLAPSED = 12; // shown by default, so the queues and charts stay in view
const REFRESH_GAP_MS = 2000;
const BACKOFF_MAX_MS = 30000;
const DURATION_BARS = 20;
const ACTIVITY_KEPT = 30;
const COUNTERS = ['added', 'updated', 'unchanged', 'gone', 'apiRequests'];
const COUNTER_LABELS = { added: 'Added', updated: 'Updated', unchanged: 'Unchanged', gone: 'Gone', apiRequests: 'API req.' };
const QUEUE_STATES = ['pending', 'running', 'scheduled', 'failed', 'done'];
const SVG_NS = 'http://www.w3.org/2000/svg';

// ---------------------------------------------------------------------------------------
// GraphQL documents. These are the only documents the page sends.

const CONNECTION_FIELDS = `
fragment ConnectionFields on Connection {
  id name provider status statusMessage repositoryCount
  lastDiscoveredAt nextDiscoveryAt discoveryIntervalSeconds
}`;

const RUN_FIELDS = `
fragment RunFields on DiscoveryRun {
  id connectionName connection { id name }
  trigger startedAt finishedAt durationMs outcome
  added updated unchanged gone apiRequests rateLimitWaits
  issues { code }
}`;

const USER_ERRORS = 'userErrors { field code message }';

const Q_DASHBOARD = `query Dashboard($runs: Int!) {
  viewer { role user { email } organization { name } }
  connections(first: 100) { nodes { ...ConnectionFields } pageInfo { hasNextPage endCursor } }
  jobQueues { name provider lane pending running scheduled failed done }
  discoveryRuns(first: $runs) { nodes { ...RunFields } }
  discoveryRunsPerHour(hours: 24) { queue provider buckets { hour runs failures } }
}${CONNECTION_FIELDS}${RUN_FIELDS}`;

const Q_MORE_CONNECTIONS = `query MoreConnections($after: String!) {
  connections(first: 100, after: $after) { nodes { ...ConnectionFields } pageInfo { hasNextPage endCursor } }
}${CONNECTION_FIELDS}`;

const Q_RUN = `query DiscoveryRun($id: ID!) {
  node(id: $id) { ... on DiscoveryRun { ...RunFields issues { code message subject } } }
}${RUN_FIELDS}`;

const M_SYNC = `mutation SyncConnection($id: ID!) {
  syncConnection(input: { id: $id }) { connection { ...ConnectionFields } ${USER_ERRORS} }
}${CONNECTION_FIELDS}`;

const M_RETRY = `mutation RetryDiscoveryRun($id: ID!) {
  retryDiscoveryRun(input: { id: $id }) { connection { ...ConnectionFields } ${USER_ERRORS} }
}${CONNECTION_FIELDS}`;

const M_CANCEL = `mutation CancelDiscovery($connectionId: ID!) {
  cancelDiscovery(input: { connectionId: $connectionId }) { connection { ...ConnectionFields } cancelledJobs ${USER_ERRORS} }
}${CONNECTION_FIELDS}`;

const M_RETRY_FAILED = `mutation RetryFailedDiscoveryRuns {
  retryFailedDiscoveryRuns { connections { ...ConnectionFields } ${USER_ERRORS} }
}${CONNECTION_FIELDS}`;

const S_CONNECTIONS = `subscription ConnectionUpdated {
  connectionUpdated { ...ConnectionFields }
}${CONNECTION_FIELDS}`;

const S_RUN_EVENTS = `subscription DiscoveryRunEvents {
  discoveryRunEvents {
    runId connectionId added updated unchanged gone apiRequests finished outcome
    run { ...RunFields }
  }
}${RUN_FIELDS}`;

const S_REPOSITORY_EVENTS = `subscription RepositoryEvents {
  repositoryEvents { kind repositoryId connectionId fullName }
}`;

// ---------------------------------------------------------------------------------------
// State. Maps are keyed by GraphQL id; rendering reads only from here.

const state = {
  signedOut: false,
  connections: new Map(),
  runs: new Map(),
  queues: [],
  history: [],
  detailRunId: null,
  runsExpanded: false,
};

const $ = (id) => document.getElementById(id);

function metaContent(name) {
  const el = document.querySelector(`meta[name="${name}"]`);
  return el ? el.content.trim() : '';
}

// ---------------------------------------------------------------------------------------
// Start-up and session.

document.addEventListener('DOMContentLoaded', start);

function start() {
  wireEvents();
  // The server gives members no CSRF token; checking the role too keeps a member out even if
  // a template change ever did.
  if (!CSRF || ROLE === 'MEMBER') {
    showSignIn(ROLE === 'MEMBER' ? 'member' : null);
    return;
  }
  $('signout-csrf').value = CSRF;
  $('signout-form').hidden = false;
  $('dashboard').hidden = false;
  refreshNow();
  connectLive();
  setInterval(tick, 1000);
}

function showSignIn(reason) {
  $('dashboard').hidden = true;
  $('live').hidden = true;
  $('signin').hidden = false;
  $('member-notice').hidden = reason !== 'member';
  $('session-notice').hidden = reason !== 'expired';
  if (reason !== 'member' && reason !== null) $('who').textContent = '';
}

// The server said the session is gone (or no longer an admin's): stop everything live and
// offer the sign-in form; the operator's next sign-in reloads the page anyway.
function sessionEnded(reason) {
  if (state.signedOut) return;
  state.signedOut = true;
  stopLive();
  $('signout-form').hidden = true;
  if ($('run-detail').open) $('run-detail').close();
  showSignIn(reason);
}

function wireEvents() {
  $('connections-body').addEventListener('click', onConnectionClick);
  $('runs-body').addEventListener('click', onRunClick);
  $('runs-body').addEventListener('keydown', onRunKey);
  $('retry-all-failed').addEventListener('click', retryAllFailed);
  $('runs-more').addEventListener('click', () => {
    state.runsExpanded = !state.runsExpanded;
    renderRuns();
  });
  $('run-detail').addEventListener('close', () => { state.detailRunId = null; });
  $('run-detail-retry').addEventListener('click', () => retryRun(state.detailRunId, $('run-detail-retry')));
  window.addEventListener('online', reconnectSoon);
}

// ---------------------------------------------------------------------------------------
// GraphQL over HTTP.

class GraphqlError extends Error {
  constructor(message, code) {
    super(message);
    this.code = code;
  }
}

async function gql(query, variables = {}) {
  let response;
  try {
    response = await fetch('/graphql', {
      method: 'POST',
      credentials: 'same-origin',
      headers: {
        'content-type': 'application/json',
        accept: 'application/graphql-response+json, application/json',
        'x-csrf-token': CSRF,
      },
      body: JSON.stringify({ query, variables }),
    });
  } catch {
    throw new GraphqlError('Tether cannot be reached right now.', 'NETWORK');
  }
  let body = null;
  try {
    body = await response.json();
  } catch {
    // Not JSON: a proxy error page or similar; the status says enough.
  }
  const first = body && Array.isArray(body.errors) && body.errors[0];
  const code = first && first.extensions ? first.extensions.code : undefined;
  if (code === 'UNAUTHENTICATED' || response.status === 401 || response.status === 403) sessionEnded('expired');
  if (first) throw new GraphqlError(first.message || 'The request failed.', code);
  if (!body || !body.data) throw new GraphqlError(`Unexpected answer from Tether (HTTP ${response.status}).`, 'HTTP');
  return body.data;
}

// Mutations answer { …, userErrors }: surface those as one error so callers handle one path.
function checkUserErrors(payload) {
  if (payload.userErrors && payload.userErrors.length) {
    throw new GraphqlError(payload.userErrors.map((e) => e.message).join(' '), payload.userErrors[0].code);
  }
  return payload;
}

// ---------------------------------------------------------------------------------------
// Loading. One refresh in flight at a time, at most one every REFRESH_GAP_MS, and always a
// trailing one after a burst of events so the page ends up matching the server.

const refresher = { timer: 0, inflight: null, again: false, last: 0 };

function scheduleRefresh() {
  if (refresher.timer || state.signedOut) return;
  const wait = Math.max(250, refresher.last + REFRESH_GAP_MS - Date.now());
  refresher.timer = setTimeout(() => {
    refresher.timer = 0;
    refreshNow();
  }, wait);
}

function refreshNow() {
  if (state.signedOut) return Promise.resolve();
  if (refresher.inflight) {
    refresher.again = true;
    return refresher.inflight;
  }
  refresher.last = Date.now();
  refresher.inflight = loadDashboard()
    .catch((err) => { if (!state.signedOut) toast(`Could not refresh: ${err.message}`, 'error'); })
    .finally(() => {
      refresher.inflight = null;
      if (refresher.again) {
        refresher.again = false;
        scheduleRefresh();
      }
    });
  return refresher.inflight;
}

async function loadDashboard() {
  const data = await gql(Q_DASHBOARD, { runs: RUNS_SHOWN });
  const connections = [...data.connections.nodes];
  let page = data.connections.pageInfo;
  // Organizations with more than 100 connections: follow the cursor (bounded, just in case).
  for (let i = 0; page.hasNextPage && page.endCursor && i < 50; i += 1) {
    const more = await gql(Q_MORE_CONNECTIONS, { after: page.endCursor });
    connections.push(...more.connections.nodes);
    page = more.connections.pageInfo;
  }
  if (data.viewer) {
    $('org-name').textContent = data.viewer.organization.name;
    $('who').textContent = data.viewer.user.email;
  }
  state.connections = new Map(connections.map((c) => [c.id, c]));
  replaceRuns(data.discoveryRuns.nodes);
  state.queues = data.jobQueues;
  state.history = data.discoveryRunsPerHour;
  renderLists();
  renderCharts();
}

// The list is the truth, except for what only live events know yet: counters of a run in
// progress (events are ahead of the last query) and runs started after the query ran.
function replaceRuns(nodes) {
  const next = new Map();
  for (const fresh of nodes) {
    const known = state.runs.get(fresh.id);
    const run = { ...fresh };
    if (known && !fresh.outcome && !fresh.finishedAt) {
      for (const key of COUNTERS) run[key] = Math.max(run[key] || 0, known[key] || 0);
    }
    if (known && known.issuesFull) run.issuesFull = known.issuesFull;
    next.set(run.id, run);
  }
  const keepLiveUntil = Date.now() - 60000;
  for (const [id, run] of state.runs) {
    if (!next.has(id) && run.liveSeenAt && run.liveSeenAt > keepLiveUntil) next.set(id, run);
  }
  state.runs = next;
}

// ---------------------------------------------------------------------------------------
// Applying live events.

function applyConnection(connection) {
  state.connections.set(connection.id, connection);
  renderLists();
  scheduleRefresh();
}

function applyRunEvent(event) {
  let run = state.runs.get(event.runId);
  if (!run) {
    // A run we have never seen: show it now, the refresh below fills in the details.
    run = event.run ? { ...event.run } : placeholderRun(event);
    state.runs.set(event.runId, run);
  } else if (event.run) {
    Object.assign(run, event.run, { issuesFull: run.issuesFull });
  }
  for (const key of COUNTERS) run[key] = event[key];
  if (event.finished) {
    run.outcome = event.outcome || run.outcome;
    run.finishedAt = run.finishedAt || new Date().toISOString();
    if (run.durationMs == null) run.durationMs = Date.parse(run.finishedAt) - Date.parse(run.startedAt);
  }
  run.liveSeenAt = Date.now();
  renderLists();
  if (event.finished) renderDurations();
  if (state.detailRunId === run.id) renderDetail(run);
  scheduleRefresh();
}

function placeholderRun(event) {
  const connection = state.connections.get(event.connectionId);
  return {
    id: event.runId,
    connection: connection ? { id: connection.id, name: connection.name } : { id: event.connectionId, name: null },
    connectionName: connection ? connection.name : null,
    trigger: null,
    startedAt: new Date().toISOString(),
    finishedAt: null,
    durationMs: null,
    outcome: null,
    rateLimitWaits: 0,
    issues: [],
  };
}

function applyRepositoryEvent(event) {
  const list = $('activity');
  const item = el('li', 'activity-item');
  const when = el('time', 'muted', clockTime(new Date()));
  when.dateTime = new Date().toISOString();
  const kind = el('span', `badge kind-${event.kind.toLowerCase()}`, titleCase(event.kind));
  const name = el('span', 'mono', event.fullName);
  const connection = state.connections.get(event.connectionId);
  item.append(when, kind, name);
  if (connection) item.append(el('span', 'muted', connection.name));
  list.prepend(item);
  while (list.children.length > ACTIVITY_KEPT) list.lastChild.remove();
  $('activity-empty').hidden = true;
  scheduleRefresh();
}

// ---------------------------------------------------------------------------------------
// Live updates: graphql-transport-ws, written by hand (the protocol is small).
// init → ack → one subscribe per operation; answer pings; on close, back off and reconnect,
// then re-query everything because events were missed meanwhile.

const SUBSCRIPTIONS = {
  1: { query: S_CONNECTIONS, onData: (d) => applyConnection(d.connectionUpdated) },
  2: { query: S_RUN_EVENTS, onData: (d) => applyRunEvent(d.discoveryRunEvents) },
  3: { query: S_REPOSITORY_EVENTS, onData: (d) => applyRepositoryEvent(d.repositoryEvents) },
};

const live = { socket: null, attempt: 0, acked: false, retryTimer: 0, ackTimer: 0 };

function connectLive() {
  clearTimeout(live.retryTimer);
  if (state.signedOut) return;
  setLiveState(live.acked ? 'reconnecting' : 'connecting');
  const scheme = location.protocol === 'https:' ? 'wss://' : 'ws://';
  const socket = new WebSocket(`${scheme}${location.host}/graphql`, 'graphql-transport-ws');
  live.socket = socket;
  socket.addEventListener('open', () => {
    sendLive(socket, { type: 'connection_init', payload: { csrfToken: CSRF } });
    // A server that never acknowledges is as good as down: drop it and retry.
    live.ackTimer = setTimeout(() => socket.close(4000, 'no connection_ack'), 10000);
  });
  socket.addEventListener('message', (event) => onLiveMessage(socket, event.data));
  socket.addEventListener('close', (event) => onLiveClose(socket, event));
}

function onLiveMessage(socket, raw) {
  let message;
  try {
    message = JSON.parse(raw);
  } catch {
    return;
  }
  if (message.type === 'connection_ack') onLiveAck(socket);
  else if (message.type === 'ping') sendLive(socket, { type: 'pong' });
  else if (message.type === 'next') onLiveNext(message);
  else if (message.type === 'error') toast(`Live updates refused: ${firstMessage(message.payload)}`, 'error');
  // 'complete' and 'pong' need nothing: the other subscriptions carry on.
}

function onLiveAck(socket) {
  clearTimeout(live.ackTimer);
  const reconnected = live.acked;
  live.acked = true;
  live.attempt = 0;
  for (const [id, sub] of Object.entries(SUBSCRIPTIONS)) {
    sendLive(socket, { id, type: 'subscribe', payload: { query: sub.query } });
  }
  setLiveState('live');
  // After a reconnect, catch up at once; on the first connect, the page load may have raced
  // the subscriptions, so one throttled re-query closes that gap.
  if (reconnected) refreshNow();
  else scheduleRefresh();
}

function onLiveNext(message) {
  const sub = SUBSCRIPTIONS[message.id];
  const payload = message.payload || {};
  if (payload.errors && payload.errors.length) toast(`Live update failed: ${firstMessage(payload.errors)}`, 'error');
  if (sub && payload.data) sub.onData(payload.data);
}

function onLiveClose(socket, event) {
  clearTimeout(live.ackTimer);
  if (socket !== live.socket) return; // an old socket we already replaced or stopped
  live.socket = null;
  // 4401 (no or bad credentials) and 4403 (the session ended meanwhile): sign in again.
  if (event.code === 4401 || event.code === 4403) return sessionEnded('expired');
  const delay = Math.min(BACKOFF_MAX_MS, 1000 * 2 ** live.attempt);
  live.attempt += 1;
  setLiveState('reconnecting');
  live.retryTimer = setTimeout(connectLive, delay);
  return undefined;
}

function reconnectSoon() {
  if (!live.socket && !state.signedOut && CSRF) connectLive();
}

function stopLive() {
  clearTimeout(live.retryTimer);
  const socket = live.socket;
  live.socket = null;
  if (socket) socket.close(1000, 'signed out');
}

function sendLive(socket, message) {
  if (socket.readyState === WebSocket.OPEN) socket.send(JSON.stringify(message));
}

function firstMessage(errors) {
  return (Array.isArray(errors) && errors[0] && errors[0].message) || 'unknown error';
}

function setLiveState(value) {
  const indicator = $('live');
  indicator.hidden = false;
  indicator.dataset.state = value;
  indicator.querySelector('.live-text').textContent = value;
  indicator.title = value === 'live' ? 'Receiving live updates' : 'Live updates are not flowing; data may be stale';
}

// ---------------------------------------------------------------------------------------
// Actions.

function onConnectionClick(event) {
  const button = event.target.closest('button[data-action]');
  if (!button) return;
  const id = button.closest('tr').dataset.connectionId;
  if (button.dataset.action === 'sync') syncConnection(id, button);
  if (button.dataset.action === 'cancel') cancelDiscovery(id, button);
}

function onRunClick(event) {
  const row = event.target.closest('tr');
  if (!row) return;
  const button = event.target.closest('button[data-action="retry"]');
  if (button) retryRun(row.dataset.runId, button);
  else openDetail(row.dataset.runId);
}

function onRunKey(event) {
  if ((event.key === 'Enter' || event.key === ' ') && event.target.matches('tr')) {
    event.preventDefault();
    openDetail(event.target.dataset.runId);
  }
}

// Runs a mutation with its button disabled meanwhile, and reports the outcome in a toast.
async function withButton(button, action) {
  if (button) button.disabled = true;
  try {
    await action();
  } catch (err) {
    if (!state.signedOut) toast(err.message, 'error');
  } finally {
    if (button) button.disabled = false;
    renderLists();
  }
}

function syncConnection(id, button) {
  return withButton(button, async () => {
    const data = await gql(M_SYNC, { id });
    const payload = checkUserErrors(data.syncConnection);
    if (payload.connection) state.connections.set(id, payload.connection);
    toast(`Discovery queued for ${connectionLabel(id)}.`);
    scheduleRefresh();
  });
}

function cancelDiscovery(id, button) {
  return withButton(button, async () => {
    const data = await gql(M_CANCEL, { connectionId: id });
    const payload = checkUserErrors(data.cancelDiscovery);
    if (payload.connection) state.connections.set(id, payload.connection);
    toast(`Cancelled ${plural(payload.cancelledJobs || 0, 'job')} for ${connectionLabel(id)}.`);
    scheduleRefresh();
  });
}

function retryRun(runId, button) {
  if (!runId) return undefined;
  return withButton(button, async () => {
    const data = await gql(M_RETRY, { id: runId });
    const payload = checkUserErrors(data.retryDiscoveryRun);
    if (payload.connection) state.connections.set(payload.connection.id, payload.connection);
    toast(`Retry queued for ${payload.connection ? payload.connection.name : 'the run'}.`);
    scheduleRefresh();
  });
}

function retryAllFailed() {
  const button = $('retry-all-failed');
  return withButton(button, async () => {
    const data = await gql(M_RETRY_FAILED);
    const payload = checkUserErrors(data.retryFailedDiscoveryRuns);
    for (const c of payload.connections) state.connections.set(c.id, c);
    const names = payload.connections.map((c) => c.name);
    toast(names.length ? `Retrying ${plural(names.length, 'connection')}: ${names.join(', ')}.` : 'Nothing to retry.');
    scheduleRefresh();
  });
}

function connectionLabel(id) {
  const c = state.connections.get(id);
  return c ? c.name : 'the connection';
}

// ---------------------------------------------------------------------------------------
// Run detail dialog: shows what the list knows at once, then the full issue list.

async function openDetail(runId) {
  const run = state.runs.get(runId);
  if (!run) return;
  state.detailRunId = runId;
  renderDetail(run);
  const dialog = $('run-detail');
  if (!dialog.open) dialog.showModal();
  try {
    const data = await gql(Q_RUN, { id: runId });
    if (!data.node) return;
    const current = state.runs.get(runId) || run;
    current.issuesFull = data.node.issues;
    for (const [key, value] of Object.entries(data.node)) if (key !== 'issues') current[key] = value;
    if (state.detailRunId === runId) renderDetail(current);
  } catch (err) {
    if (!state.signedOut) toast(`Could not load the run: ${err.message}`, 'error');
  }
}

function renderDetail(run) {
  const connection = runConnection(run);
  $('run-detail-title').textContent = `Run of ${connectionName(run)}`;
  const facts = [
    ['Connection', connectionName(run)],
    ['Provider', connection ? providerLabel(connection.provider) : '—'],
    ['Outcome', outcomeLabel(run)],
    ['Trigger', triggerLabel(run.trigger)],
    ['Started', absoluteTime(run.startedAt)],
    ['Finished', run.finishedAt ? absoluteTime(run.finishedAt) : 'still running'],
    ['Duration', run.outcome || run.finishedAt ? formatDuration(run.durationMs) : formatDuration(elapsedMs(run))],
    ['Added', run.added], ['Updated', run.updated], ['Unchanged', run.unchanged], ['Gone', run.gone],
    ['API requests', run.apiRequests], ['Rate-limit waits', run.rateLimitWaits],
    ['Run id', run.id],
  ];
  const list = $('run-detail-facts');
  list.replaceChildren();
  for (const [label, value] of facts) {
    const item = el('div', 'fact');
    item.append(el('dt', '', label), el('dd', label === 'Run id' ? 'mono' : '', value == null ? '—' : String(value)));
    list.append(item);
  }
  const issues = run.issuesFull || null;
  const count = issues ? issues.length : (run.issues || []).length;
  $('run-detail-issue-count').textContent = issues ? `(${count})` : `(${count}, loading…)`;
  const body = $('run-detail-issues');
  body.replaceChildren();
  for (const issue of issues || []) {
    const row = el('tr');
    row.append(cell('mono', 'Code'), cell('wrap', 'Message'), cell('mono wrap', 'Subject'));
    row.children[0].textContent = issue.code;
    row.children[1].textContent = issue.message;
    row.children[2].textContent = issue.subject || '—';
    body.append(row);
  }
  $('run-detail-no-issues').hidden = !(issues && issues.length === 0);
  $('run-detail-retry').hidden = !isRetryable(run);
}

// ---------------------------------------------------------------------------------------
// Rendering: tables. Rows are keyed and updated in place, so buttons keep focus and live
// counters change without the table being rebuilt.

function renderLists() {
  renderConnections();
  renderRuns();
  renderQueues();
  renderKpis();
}

function syncRows(tbody, items, keyOf, create, update) {
  const existing = new Map([...tbody.children].map((row) => [row.dataset.key, row]));
  items.forEach((item, index) => {
    const key = keyOf(item);
    let row = existing.get(key);
    if (row) existing.delete(key);
    else {
      row = create(item);
      row.dataset.key = key;
    }
    update(row, item);
    if (tbody.children[index] !== row) tbody.insertBefore(row, tbody.children[index] || null);
  });
  for (const stale of existing.values()) stale.remove();
}

function renderConnections() {
  const items = [...state.connections.values()].sort((a, b) => a.name.localeCompare(b.name));
  syncRows($('connections-body'), items, (c) => c.id, createConnectionRow, updateConnectionRow);
  $('connections-empty').hidden = items.length > 0;
  $('connections-count').textContent = items.length ? plural(items.length, 'connection') : '';
}

function createConnectionRow() {
  const row = el('tr');
  row.dataset.testid = 'connection-row';
  const name = cell('name-cell card-title', 'Connection');
  name.append(el('span', 'name', '', { 'data-testid': 'connection-name', 'data-ref': 'name' }),
    el('span', 'sub', '', { 'data-ref': 'provider' }));
  const status = cell('status-cell card-wide', 'Status');
  status.append(el('span', 'badge', '', { 'data-ref': 'status' }), el('span', 'sub wrap', '', { 'data-ref': 'message' }));
  const actions = cell('actions card-wide');
  actions.append(
    el('button', 'btn btn-small', 'Sync now', { type: 'button', 'data-action': 'sync', 'data-testid': 'sync-now' }),
    el('button', 'btn btn-small btn-danger', 'Cancel', { type: 'button', 'data-action': 'cancel', 'data-testid': 'cancel-sync' }),
  );
  row.append(name, status, timeCell('last', 'Last run'), timeCell('next', 'Next run'),
    cell('', 'Interval', 'interval'), cell('num', 'Repos', 'repos'), actions);
  return row;
}

function updateConnectionRow(row, c) {
  const ref = refs(row);
  row.dataset.connectionId = c.id;
  row.dataset.status = c.status;
  ref.name.textContent = c.name;
  ref.provider.textContent = providerLabel(c.provider);
  setBadge(ref.status, c.status, titleCase(c.status));
  ref.message.textContent = c.statusMessage || '';
  setTime(ref.last, c.lastDiscoveredAt, 'never');
  setTime(ref.next, c.nextDiscoveryAt, c.status === 'SUSPENDED' ? 'suspended' : 'not scheduled');
  ref.interval.textContent = formatInterval(c.discoveryIntervalSeconds);
  ref.repos.textContent = formatCount(c.repositoryCount);
  const syncing = c.status === 'SYNCING' || hasRunningRun(c.id);
  const sync = row.querySelector('[data-action="sync"]');
  sync.disabled = syncing;
  sync.title = syncing ? 'A discovery is already running' : `Run discovery for ${c.name} now`;
  row.querySelector('[data-action="cancel"]').hidden = !syncing;
}

function renderRuns() {
  const all = sortedRuns().slice(0, RUNS_SHOWN);
  const limit = state.runsExpanded ? RUNS_SHOWN : RUNS_COLLAPSED;
  // A run in progress is always shown, however many newer runs there are.
  const items = all.filter((run, i) => i < limit || isRunning(run));
  syncRows($('runs-body'), items, (r) => r.id, createRunRow, updateRunRow);
  $('runs-empty').hidden = all.length > 0;
  const failed = all.filter(isRetryable).length;
  $('runs-count').textContent = all.length ? `${all.length} newest${failed ? ` · ${failed} failed or partial` : ''}` : '';
  const more = $('runs-more');
  more.hidden = all.length <= RUNS_COLLAPSED;
  more.textContent = state.runsExpanded ? 'Show fewer' : `Show all ${all.length}`;
  more.setAttribute('aria-expanded', String(state.runsExpanded));
}

function createRunRow() {
  const row = el('tr', 'clickable', '', { tabindex: '0' });
  row.dataset.testid = 'run-row';
  const outcome = cell('outcome-cell', 'Outcome');
  outcome.append(el('span', 'badge', '', { 'data-ref': 'outcome' }), el('span', 'progress', '', { 'data-ref': 'progress', 'aria-hidden': 'true' }));
  const actions = cell('actions card-wide');
  actions.append(el('button', 'btn btn-small', 'Retry', { type: 'button', 'data-action': 'retry', 'data-testid': 'retry-run' }));
  row.append(
    cell('name card-title', 'Connection', 'connection'),
    cell('', 'Trigger', 'trigger'),
    timeCell('started', 'Started'),
    cell('num', 'Duration', 'duration'),
    outcome,
    ...COUNTERS.map((key) => cell('num counter', COUNTER_LABELS[key], key)),
    cell('num', 'Issues', 'issues'),
    actions,
  );
  return row;
}

function updateRunRow(row, run) {
  const ref = refs(row);
  const running = isRunning(run);
  row.dataset.runId = run.id;
  row.dataset.outcome = run.outcome || 'RUNNING';
  const connection = runConnection(run);
  row.dataset.connectionId = connection ? connection.id : '';
  row.setAttribute('aria-label', `Run of ${connectionName(run)}, ${outcomeLabel(run)}: open details`);
  ref.connection.textContent = connectionName(run);
  ref.trigger.textContent = triggerLabel(run.trigger);
  setTime(ref.started, run.startedAt, '—');
  setDuration(ref.duration, run, running);
  setBadge(ref.outcome, run.outcome || 'RUNNING', outcomeLabel(run));
  ref.progress.hidden = !running;
  for (const key of COUNTERS) setCounter(ref[key], run[key]);
  ref.apiRequests.title = run.rateLimitWaits ? `${plural(run.rateLimitWaits, 'rate-limit wait')}` : '';
  const issueCount = (run.issuesFull || run.issues || []).length;
  ref.issues.textContent = issueCount ? String(issueCount) : '—';
  ref.issues.classList.toggle('warn-text', issueCount > 0);
  row.querySelector('[data-action="retry"]').hidden = !isRetryable(run);
}

// A counter that changed flashes once, so operators see which run is moving.
function setCounter(td, value) {
  const text = formatCount(value || 0);
  if (td.textContent === text) return;
  const first = td.textContent === '';
  td.textContent = text;
  if (!first) {
    td.classList.remove('bump');
    void td.offsetWidth; // restart the CSS animation
    td.classList.add('bump');
  }
}

function renderQueues() {
  syncRows($('queues-body'), state.queues, (q) => q.name, createQueueRow, updateQueueRow);
}

function createQueueRow() {
  const row = el('tr');
  row.dataset.testid = 'queue-row';
  const name = cell('name-cell card-title', 'Queue');
  name.append(el('span', 'name mono', '', { 'data-ref': 'name' }), el('span', 'sub', '', { 'data-ref': 'kind' }));
  row.append(name, ...QUEUE_STATES.map((k) => cell('num', titleCase(k), k)));
  return row;
}

function updateQueueRow(row, q) {
  const ref = refs(row);
  row.dataset.queue = q.name;
  ref.name.textContent = q.name;
  ref.kind.textContent = `${providerLabel(q.provider)} · ${q.lane.toLowerCase()}`;
  for (const key of QUEUE_STATES) {
    ref[key].textContent = formatCount(q[key]);
    ref[key].classList.toggle('zero', q[key] === 0);
  }
  ref.failed.classList.toggle('bad-text', q.failed > 0);
  ref.running.classList.toggle('info-text', q.running > 0);
}

function renderKpis() {
  const connections = [...state.connections.values()];
  const attention = connections.filter((c) => ['DEGRADED', 'UNAUTHORIZED', 'SUSPENDED'].includes(c.status)).length;
  const syncing = connections.filter((c) => c.status === 'SYNCING').length;
  $('kpi-connections').textContent = formatCount(connections.length);
  $('kpi-connections-sub').textContent = [syncing && `${syncing} syncing`, attention && `${attention} need attention`].filter(Boolean).join(' · ') || 'all healthy';
  $('kpi-connections-sub').classList.toggle('warn-text', attention > 0);
  const running = [...state.runs.values()].filter(isRunning).length;
  $('kpi-running').textContent = formatCount(running);
  $('kpi-running-sub').textContent = running ? 'live counters below' : 'idle';
  let runs = 0;
  let failures = 0;
  for (const queue of state.history) for (const b of queue.buckets) { runs += b.runs; failures += b.failures; }
  $('kpi-runs24').textContent = formatCount(runs);
  $('kpi-runs24-sub').textContent = failures ? `${formatCount(failures)} failed` : 'no failures';
  $('kpi-runs24-sub').classList.toggle('bad-text', failures > 0);
  const waiting = state.queues.reduce((n, q) => n + q.pending + q.scheduled, 0);
  const failedJobs = state.queues.reduce((n, q) => n + q.failed, 0);
  $('kpi-queued').textContent = formatCount(waiting);
  $('kpi-queued-sub').textContent = failedJobs ? `${formatCount(failedJobs)} failed jobs` : 'no failed jobs';
  $('kpi-queued-sub').classList.toggle('bad-text', failedJobs > 0);
}

// ---------------------------------------------------------------------------------------
// Rendering: charts, as inline SVG built here (the CSP allows no chart library from a CDN,
// and none is needed). Each bar carries a <title> for hover and screen readers.

function renderCharts() {
  renderHourly();
  renderDurations();
}

function renderHourly() {
  const host = $('chart-hourly');
  host.replaceChildren();
  if (!state.history.length) {
    host.append(el('p', 'empty', 'No queue history yet.'));
    return;
  }
  // One scale for all queues, so a busy queue looks busier than a quiet one.
  const max = Math.max(1, ...state.history.flatMap((q) => q.buckets.map((b) => Math.max(b.runs, b.failures))));
  for (const queue of state.history) host.append(hourlyFigure(queue, max));
}

function hourlyFigure(queue, max) {
  const runs = queue.buckets.reduce((n, b) => n + b.runs, 0);
  const failures = queue.buckets.reduce((n, b) => n + b.failures, 0);
  const figure = el('figure', 'mini-chart');
  const caption = el('figcaption');
  caption.append(el('span', 'mono', queue.queue, { title: queue.queue }),
    el('span', 'caption-stats', `${plural(runs, 'run')} · `),
    el('span', failures ? 'bad-text' : 'muted', `${formatCount(failures)} failed`));
  const width = 240;
  const height = 48;
  const svg = svgEl('svg', { viewBox: `0 0 ${width} ${height}`, preserveAspectRatio: 'none', class: 'bars', role: 'img' });
  svg.append(svgEl('title', {}, `${queue.queue}: ${runs} runs and ${failures} failures in the last ${queue.buckets.length} hours, one bar per hour, ${max} at most`));
  svg.append(svgEl('path', { d: `M0 ${height - 0.5}H${width}`, class: 'baseline' }));
  const step = width / Math.max(1, queue.buckets.length);
  queue.buckets.forEach((bucket, i) => {
    const group = svgEl('g', { class: 'bar' });
    const x = i * step + 0.75;
    const w = Math.max(1, step - 1.5);
    const okHeight = (Math.max(0, bucket.runs - bucket.failures) / max) * (height - 2);
    const failHeight = (Math.min(bucket.failures, max) / max) * (height - 2);
    // A transparent full-height hit area makes thin bars easy to hover.
    group.append(svgEl('rect', { x, y: 0, width: w, height, class: 'hit' }));
    if (okHeight > 0) group.append(svgEl('rect', { x, y: height - okHeight - 1, width: w, height: okHeight, class: 'ok' }));
    if (failHeight > 0) group.append(svgEl('rect', { x, y: height - okHeight - failHeight - 1, width: w, height: failHeight, class: 'fail' }));
    group.append(svgEl('title', {}, `${hourRange(bucket.hour)}: ${plural(bucket.runs, 'run')}, ${bucket.failures} failed`));
    svg.append(group);
  });
  const axis = el('div', 'axis');
  axis.append(el('span', '', `${queue.buckets.length} h ago`), el('span', '', 'now'));
  figure.append(caption, svg, axis);
  return figure;
}

function renderDurations() {
  const host = $('chart-durations');
  host.replaceChildren();
  const finished = sortedRuns().filter((r) => r.durationMs != null && (r.outcome || r.finishedAt)).reverse();
  const byConnection = new Map();
  for (const run of finished) {
    const connection = runConnection(run);
    const key = connection ? connection.id : `deleted:${connectionName(run)}`;
    if (!byConnection.has(key)) byConnection.set(key, { name: connectionName(run), runs: [] });
    byConnection.get(key).runs.push(run);
  }
  for (const c of state.connections.values()) if (!byConnection.has(c.id)) byConnection.set(c.id, { name: c.name, runs: [] });
  const rows = [...byConnection.entries()].sort((a, b) => a[1].name.localeCompare(b[1].name));
  if (!rows.length) {
    host.append(el('p', 'empty', 'No runs yet.'));
    return;
  }
  for (const [key, entry] of rows) host.append(durationRow(key, entry));
}

function durationRow(key, entry) {
  const runs = entry.runs.slice(-DURATION_BARS);
  const row = el('div', 'duration-row');
  row.dataset.connectionId = key;
  const name = el('span', 'name', entry.name, { title: entry.name });
  const width = DURATION_BARS * 12;
  const height = 28;
  const svg = svgEl('svg', { viewBox: `0 0 ${width} ${height}`, preserveAspectRatio: 'none', class: 'spark', role: 'img' });
  const max = Math.max(1, ...runs.map((r) => r.durationMs));
  const summary = runs.length
    ? `${entry.name}: durations of the last ${plural(runs.length, 'run')}, longest ${formatDuration(max)}`
    : `${entry.name}: no finished runs in the recent list`;
  svg.append(svgEl('title', {}, summary));
  svg.append(svgEl('path', { d: `M0 ${height - 0.5}H${width}`, class: 'baseline' }));
  // Right-aligned: the newest run is always the last bar, whatever the number of runs.
  const offset = (DURATION_BARS - runs.length) * 12;
  runs.forEach((run, i) => {
    const h = Math.max(2, (run.durationMs / max) * (height - 2));
    const rect = svgEl('rect', { x: offset + i * 12 + 1.5, y: height - h - 1, width: 9, height: h, rx: 1.5, class: outcomeClass(run.outcome) });
    rect.append(svgEl('title', {}, `${absoluteTime(run.startedAt)}: ${formatDuration(run.durationMs)}, ${outcomeLabel(run)}`));
    svg.append(rect);
  });
  const last = runs[runs.length - 1];
  const stats = el('span', 'duration-stats');
  if (last) {
    stats.append(el('span', 'num-strong', formatDuration(last.durationMs)), el('span', 'muted', `median ${formatDuration(median(runs.map((r) => r.durationMs)))}`));
  } else {
    stats.append(el('span', 'muted', 'no runs yet'));
  }
  row.append(name, svg, stats);
  return row;
}

// ---------------------------------------------------------------------------------------
// Clock: relative times and the elapsed time of running runs move without a re-query.

function tick() {
  for (const node of document.querySelectorAll('time[data-rel]')) node.textContent = relativeTime(node.dateTime);
  for (const node of document.querySelectorAll('[data-since]')) node.textContent = formatDuration(Date.now() - Date.parse(node.dataset.since));
}

// ---------------------------------------------------------------------------------------
// Small DOM helpers.

function el(tag, className = '', text = '', attrs = {}) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== '') node.textContent = text;
  for (const [name, value] of Object.entries(attrs)) node.setAttribute(name, value);
  return node;
}

function svgEl(tag, attrs = {}, text = '') {
  const node = document.createElementNS(SVG_NS, tag);
  for (const [name, value] of Object.entries(attrs)) node.setAttribute(name, String(value));
  if (text) node.textContent = text;
  return node;
}

// Cells a row will update later are marked data-ref; this collects them by name once.
const refCache = new WeakMap();
function refs(row) {
  if (!refCache.has(row)) {
    const found = {};
    for (const node of row.querySelectorAll('[data-ref]')) found[node.dataset.ref] = node;
    refCache.set(row, found);
  }
  return refCache.get(row);
}

// A table cell; the label is what the phone layout shows above the value (CSS attr()).
function cell(className, label = '', ref = '') {
  const td = el('td', className);
  if (label) td.dataset.label = label;
  if (ref) td.dataset.ref = ref;
  return td;
}

function timeCell(ref, label) {
  const td = cell('time-cell', label);
  td.append(el('time', '', '', { 'data-ref': ref }));
  return td;
}

function setTime(node, iso, fallback) {
  if (!iso) {
    node.removeAttribute('datetime');
    delete node.dataset.rel;
    node.title = '';
    node.textContent = fallback;
    node.classList.add('muted');
    return;
  }
  node.dateTime = iso;
  node.dataset.rel = '';
  node.title = absoluteTime(iso);
  node.textContent = relativeTime(iso);
  node.classList.remove('muted');
}

function setDuration(td, run, running) {
  if (running) {
    td.dataset.since = run.startedAt;
    td.textContent = formatDuration(elapsedMs(run));
  } else {
    delete td.dataset.since;
    td.textContent = formatDuration(run.durationMs);
  }
}

function setBadge(node, value, label) {
  node.className = `badge badge-${String(value).toLowerCase().replace(/[^a-z0-9]+/g, '-')}`;
  node.textContent = label;
}

function toast(message, kind = 'info') {
  const item = el('div', `toast toast-${kind}`, message);
  $('toasts').append(item);
  setTimeout(() => item.remove(), kind === 'error' ? 10000 : 5000);
}

// ---------------------------------------------------------------------------------------
// Domain helpers and formatting.

function sortedRuns() {
  return [...state.runs.values()].sort((a, b) => Date.parse(b.startedAt) - Date.parse(a.startedAt));
}

function runConnection(run) {
  if (!run.connection) return null;
  return state.connections.get(run.connection.id) || run.connection;
}

function connectionName(run) {
  const connection = runConnection(run);
  return (connection && connection.name) || run.connectionName || 'deleted connection';
}

function hasRunningRun(connectionId) {
  for (const run of state.runs.values()) {
    if (isRunning(run) && run.connection && run.connection.id === connectionId) return true;
  }
  return false;
}

function isRetryable(run) {
  return run.outcome === 'FAILED' || run.outcome === 'PARTIAL';
}

function isRunning(run) {
  return !run.outcome && !run.finishedAt;
}

function elapsedMs(run) {
  return Math.max(0, Date.now() - Date.parse(run.startedAt));
}

const PROVIDERS = { GITHUB: 'GitHub', GITLAB: 'GitLab', BITBUCKET: 'Bitbucket', AZURE_DEVOPS: 'Azure DevOps' };
function providerLabel(provider) {
  return PROVIDERS[provider] || provider || '—';
}

// Unknown enum values (a newer server) are shown as they come, never hidden.
function triggerLabel(trigger) {
  return trigger ? titleCase(trigger) : '—';
}

function outcomeLabel(run) {
  if (run.outcome) return titleCase(run.outcome);
  return run.finishedAt ? 'Finished' : 'Running';
}

function outcomeClass(outcome) {
  if (outcome === 'FAILED') return 'fail';
  if (outcome === 'PARTIAL') return 'partial';
  return 'ok';
}

function titleCase(value) {
  const text = String(value).replace(/_/g, ' ').toLowerCase();
  return text.charAt(0).toUpperCase() + text.slice(1);
}

function plural(n, word) {
  return `${formatCount(n)} ${word}${n === 1 ? '' : 's'}`;
}

const numberFormat = new Intl.NumberFormat('en');
function formatCount(n) {
  return n == null ? '—' : numberFormat.format(n);
}

function formatDuration(ms) {
  if (ms == null || Number.isNaN(ms)) return '—';
  if (ms < 1000) return `${Math.round(ms)} ms`;
  const s = ms / 1000;
  if (s < 60) return `${s < 10 ? s.toFixed(1) : Math.round(s)} s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m} min ${String(Math.round(s % 60)).padStart(2, '0')} s`;
  return `${Math.floor(m / 60)} h ${String(m % 60).padStart(2, '0')} min`;
}

function formatInterval(seconds) {
  if (!seconds) return 'manual only';
  const units = [['d', 86400], ['h', 3600], ['min', 60], ['s', 1]];
  const parts = [];
  let rest = seconds;
  for (const [unit, size] of units) {
    if (rest >= size && parts.length < 2) {
      parts.push(`${Math.floor(rest / size)} ${unit}`);
      rest %= size;
    }
  }
  return `every ${parts.join(' ')}`;
}

function relativeTime(iso) {
  const diff = Date.parse(iso) - Date.now();
  const abs = Math.abs(diff);
  let text;
  if (abs < 5000) return diff > 0 ? 'due now' : 'just now';
  if (abs < 60000) text = `${Math.round(abs / 1000)} s`;
  else if (abs < 3600000) text = `${Math.round(abs / 60000)} min`;
  else if (abs < 172800000) text = `${Math.round(abs / 3600000)} h`;
  else text = `${Math.round(abs / 86400000)} d`;
  return diff > 0 ? `in ${text}` : `${text} ago`;
}

const dateTimeFormat = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeStyle: 'medium' });
function absoluteTime(iso) {
  return iso ? dateTimeFormat.format(new Date(iso)) : '—';
}

const clockFormat = new Intl.DateTimeFormat(undefined, { hour: '2-digit', minute: '2-digit', second: '2-digit' });
function clockTime(date) {
  return clockFormat.format(date);
}

const hourFormat = new Intl.DateTimeFormat(undefined, { weekday: 'short', hour: '2-digit', minute: '2-digit' });
const minuteFormat = new Intl.DateTimeFormat(undefined, { hour: '2-digit', minute: '2-digit' });
function hourRange(iso) {
  const start = new Date(iso);
  return `${hourFormat.format(start)} – ${minuteFormat.format(new Date(start.getTime() + 3600000))}`;
}

function median(values) {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}
