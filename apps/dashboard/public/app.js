// The dashboard page: no framework, no build. Counts and dead letters are polled every second;
// bus events, pubsub messages and job events arrive live over server-sent events.
// Every value from the server is inserted as text (never as HTML): payloads are untrusted.

import { $, api, h, plural, pretty, replaceRows, say, short, time } from './dom.js';
import { startJobs } from './jobs.js';
import { startCharts } from './charts.js';
import { startJourneys } from './journey.js';

const FEED_ROWS = 100;

const status = (text, kind = 'ok') => say($('dl-status'), text, kind);

// ---- queues --------------------------------------------------------------------------------------

function renderQueues(queues) {
  const rows = queues.map((q) =>
    q.error
      ? h('tr', {}, h('td', {}, q.name), h('td', { colspan: 5, class: 'error' }, q.error))
      : h(
          'tr',
          {},
          h('td', {}, h('a', { href: `#jobs/${encodeURIComponent(q.name)}`, title: 'browse its jobs' }, q.name)),
          ...['waiting', 'active', 'delayed', 'completed', 'failed'].map((k) =>
            h('td', { class: `num${q.counts[k] > 0 && (k === 'failed' || k === 'active') ? ` n-${k}` : ''}` }, q.counts[k]),
          ),
        ),
  );
  replaceRows($('queue-rows'), rows, 'no job names known yet (pass jobNames, or ?jobs=a,b)', 6);
  $('job-names').replaceChildren(...queues.map((q) => h('option', { value: q.name })));
}

function jobEventItem(e) {
  const detail = e.type === 'failed' ? `attempt ${e.attempt}${e.final ? ' (final)' : ''}: ${e.error}` : e.type === 'progress' ? JSON.stringify(e.progress) : `attempt ${e.attempt}`;
  return h('li', {}, h('span', { class: 'muted' }, time(e.at), ' '), h('span', { class: `t-${e.type}` }, e.type), ' ', h('strong', {}, e.name), ' ', h('code', {}, short(e.id)), ' ', detail);
}

// ---- failed jobs ---------------------------------------------------------------------------------

let deadLetterKey = '';
let selectedId;

function filters() {
  const form = new FormData($('dl-filter'));
  const out = {};
  for (const key of ['name', 'error']) {
    const value = String(form.get(key) ?? '').trim();
    if (value) out[key] = value;
  }
  return out;
}

async function refreshDeadLetters() {
  const data = await api(`dead-letters?${new URLSearchParams(filters())}`);
  const key = JSON.stringify(data);
  if (key === deadLetterKey) return; // unchanged: keep the table (and a pending click) as it is
  deadLetterKey = key;
  $('dl-total').textContent = data.total > data.items.length ? `${data.total} matching, first ${data.items.length} shown` : `${data.total} matching`;
  const rows = data.items.map((l) =>
    h(
      'tr',
      { class: `selectable${l.id === selectedId ? ' selected' : ''}`, 'data-id': l.id, onclick: () => showDetail(l.id) },
      h('td', { title: l.name }, l.name),
      h('td', { class: 'mono', title: l.id }, short(l.id)),
      h('td', { class: 'error', title: l.error.message }, `${l.error.name}: ${l.error.message}`),
      h('td', { class: 'num' }, l.attemptsMade),
      h('td', {}, time(l.failedAt)),
      h(
        'td',
        { class: 'row-actions' },
        h('button', { type: 'button', class: 'replay', disabled: !l.decodable, onclick: (ev) => (ev.stopPropagation(), replay({ ids: [l.id] })) }, 'Replay'),
        ' ',
        h('button', { type: 'button', class: 'discard danger', onclick: (ev) => (ev.stopPropagation(), discard({ ids: [l.id] }, `job ${short(l.id)}`)) }, 'Discard'),
      ),
    ),
  );
  replaceRows($('dl-rows'), rows, 'no failed jobs', 6);
}

async function showDetail(id) {
  try {
    const letter = await api(`dead-letters/${encodeURIComponent(id)}`);
    selectedId = id;
    deadLetterKey = '';
    $('dl-detail').hidden = false;
    $('dl-detail-id').textContent = `${letter.name} ${letter.id}`;
    $('dl-detail-payload').textContent = letter.decodable ? pretty(letter.payload) : `undecodable data:\n${letter.raw}`;
    $('dl-detail-error').textContent = `${letter.error.name}: ${letter.error.message}\nattempts: ${letter.attemptsMade}\nenqueued: ${letter.enqueuedAt}\nfailed:   ${letter.failedAt}${letter.replayOf ? `\nreplay of: ${letter.replayOf}` : ''}${letter.error.stack ? `\n\n${letter.error.stack}` : ''}`;
    $('dl-detail-envelope').textContent = pretty(letter.envelope);
    await refreshDeadLetters();
  } catch (error) {
    status(error.message, 'bad');
  }
}

function closeDetail() {
  selectedId = undefined;
  deadLetterKey = '';
  $('dl-detail').hidden = true;
}

function describeReplay(result) {
  const n = result.replayed.length;
  const skipped = result.skipped.length ? `, ${result.skipped.length} skipped (undecodable)` : '';
  return result.dryRun ? `dry run: would replay ${n} job${n === 1 ? '' : 's'}${skipped}` : `replayed ${n} job${n === 1 ? '' : 's'}${skipped}`;
}

async function replay(selection, dryRun = false) {
  try {
    const result = await api('dead-letters/replay', { ...selection, dryRun });
    status(describeReplay(result));
    if (!dryRun && selection.ids?.includes(selectedId)) closeDetail();
    await refreshDeadLetters();
  } catch (error) {
    status(`replay failed: ${error.message}`, 'bad');
  }
}

async function discard(selection, what) {
  if (!confirm(`Discard ${what} for good? This cannot be undone.`)) return;
  try {
    const result = await api('dead-letters/discard', selection);
    status(`discarded ${result.discarded}`);
    if (selection.ids?.includes(selectedId) || !selection.ids) closeDetail();
    await refreshDeadLetters();
  } catch (error) {
    status(`discard failed: ${error.message}`, 'bad');
  }
}

async function replayAllMatching() {
  try {
    const dry = await api('dead-letters/replay', { ...filters(), dryRun: true });
    if (dry.replayed.length === 0) return status('nothing to replay', 'ok');
    if (!confirm(`Replay ${dry.replayed.length} failed job(s) matching the filter?`)) return;
    await replay(filters());
  } catch (error) {
    status(`replay failed: ${error.message}`, 'bad');
  }
}

function discardAllMatching() {
  const f = filters();
  const what = Object.keys(f).length ? `every failed job matching ${JSON.stringify(f)}` : 'EVERY failed job';
  return discard(Object.keys(f).length ? f : { all: true }, what);
}

// ---- bus and channels ----------------------------------------------------------------------------

function renderCounters(tbody, counters, emptyText) {
  const rows = counters.map((c) => h('tr', {}, h('td', {}, c.name), h('td', { class: 'num' }, c.total), h('td', { class: 'num' }, c.ratePerSecond), h('td', {}, time(c.lastAt))));
  replaceRows(tbody, rows, emptyText, 4);
}

const busRow = (e) =>
  h(
    'tr',
    { class: 'fresh' },
    h('td', {}, time(e.occurredAt)),
    h('td', {}, e.name),
    h('td', { class: 'mono', title: e.id }, short(e.id)),
    h('td', { class: 'mono', title: e.correlationId ?? '' }, short(e.correlationId)),
    h('td', { class: 'mono', title: e.causationId ?? '' }, short(e.causationId)),
    h('td', { class: 'payload', title: e.payload }, e.payload),
  );

const channelRow = (m) => h('tr', { class: 'fresh' }, h('td', {}, time(m.at)), h('td', {}, m.channel), h('td', { class: 'payload', title: m.message }, m.message));

/** Items arrive oldest first; the newest goes on top and the list stays FEED_ROWS long. */
function prepend(container, items, render) {
  for (const item of items) container.prepend(render(item));
  while (container.children.length > FEED_ROWS) container.lastElementChild.remove();
}

// ---- wiring --------------------------------------------------------------------------------------

async function refreshOverview() {
  const o = await api(`overview${location.search}`);
  $('adapters').textContent = `pubsub: ${o.adapters.pubsub} · bus: ${o.adapters.bus} · queue: ${o.adapters.queue}`;
  renderQueues(o.queues);
  $('bus-total').textContent = o.bus.watched ? plural(o.bus.total, 'event') + ' seen' : 'not watched (busGroup: false)';
  renderCounters($('bus-counters'), o.bus.names, 'no events yet');
  $('channel-total').textContent = o.channels.watched ? plural(o.channels.total, 'message') + ' seen' : 'not watched (channelPattern: false)';
  renderCounters($('channel-counters'), o.channels.channels, 'no messages yet');
}

async function tick() {
  try {
    await Promise.all([refreshOverview(), refreshDeadLetters()]);
  } catch (error) {
    status(`cannot reach the dashboard API: ${error.message}`, 'bad');
  }
}

function connect() {
  const source = new EventSource('api/stream');
  const badge = $('live');
  // `ready`: the server's subscriptions are live, so nothing sent from now on is missed.
  source.addEventListener('ready', () => {
    badge.textContent = 'live';
    badge.className = 'badge on';
  });
  source.addEventListener('error', () => {
    badge.textContent = 'reconnecting…';
    badge.className = 'badge off';
  });
  source.addEventListener('batch', (ev) => {
    const batch = JSON.parse(ev.data);
    prepend($('bus-feed'), batch.bus, busRow);
    prepend($('channel-feed'), batch.channel, channelRow);
    prepend($('job-feed'), batch.job, jobEventItem);
  });
}

async function start() {
  // The journey search first: its form works from the moment the page shows, before any answer.
  startJourneys();
  const [bus, channels, jobs] = await Promise.all([api('bus'), api('channels'), api('jobs')]);
  prepend($('bus-feed'), bus.events.reverse(), busRow);
  prepend($('channel-feed'), channels.messages.reverse(), channelRow);
  prepend($('job-feed'), jobs.events.reverse(), jobEventItem);
  connect();
  $('dl-dry-run').addEventListener('click', () => replay(filters(), true));
  $('dl-replay-all').addEventListener('click', replayAllMatching);
  $('dl-discard-all').addEventListener('click', discardAllMatching);
  $('dl-detail-close').addEventListener('click', closeDetail);
  $('dl-filter').addEventListener('input', () => void refreshDeadLetters().catch((e) => status(e.message, 'bad')));
  $('dl-filter').addEventListener('submit', (ev) => ev.preventDefault());
  await tick();
  setInterval(tick, 1000);
  startJobs();
  startCharts();
}

start().catch((error) => status(`dashboard failed to start: ${error.message}`, 'bad'));
