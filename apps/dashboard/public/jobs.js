// The jobs browser: one job name at a time, jobs by state with counts and pages, search by id,
// pause and resume, clean by state and age (dry run first). Routes (location.hash):
//   #jobs/<name>[/<state>]   the list      #job/<name>/<id>   a job's page (job-page.js)
//   #find/<id>               search every known job name (and recent bus events) for an id
import { $, api, h, replaceRows, say, short, time } from './dom.js';
import { closeJobPage, refreshJobPage, showJobPage, wireJobPage } from './job-page.js';

const STATES = ['waiting', 'prioritized', 'delayed', 'active', 'completed', 'failed', 'dead'];
const PAGE = 20;
const view = { name: '', state: 'waiting', offset: 0, total: 0, paused: false, key: '' };
const status = (text, kind) => say($('jobs-status'), text, kind);

export const jobLink = (name, id, text = short(id)) => h('a', { href: `#job/${encodeURIComponent(name)}/${encodeURIComponent(id)}`, class: 'mono', title: id }, text);

async function act(action, body, done) {
  try {
    const result = await api(`admin/${action}`, body);
    status(done(result));
    await Promise.all([refreshJobs(true), refreshJobPage()]);
    return result;
  } catch (error) {
    status(`${action} failed: ${error.message}`, 'bad');
    return undefined;
  }
}

export const retry = (name, id) => act('retry', { name, id }, () => `retried ${short(id)}`);
export const promote = (name, id) => act('promote', { name, id }, () => `promoted ${short(id)}`);
export async function remove(name, id) {
  if (!confirm(`Remove job ${id} of ${name}? This cannot be undone.`)) return undefined;
  return act('remove', { name, id }, () => `removed ${short(id)}`);
}

function rowActions(job) {
  const buttons = [];
  if (job.state === 'failed') buttons.push(h('button', { type: 'button', class: 'retry', onclick: () => retry(view.name, job.id) }, 'Retry'));
  if (job.state === 'delayed') buttons.push(h('button', { type: 'button', class: 'promote', onclick: () => promote(view.name, job.id) }, 'Promote'));
  if (job.state !== 'active' && job.state !== 'dead') buttons.push(h('button', { type: 'button', class: 'remove danger', onclick: () => remove(view.name, job.id) }, 'Remove'));
  return h('td', { class: 'row-actions' }, ...buttons.flatMap((b) => [b, ' ']));
}

function renderTabs(counts) {
  const tabs = STATES.map((s) =>
    h('a', { href: `#jobs/${encodeURIComponent(view.name)}/${s}`, class: `tab${s === view.state ? ' on' : ''}`, 'data-state': s }, `${s} `, h('span', { class: 'count' }, counts[s] ?? 0)),
  );
  $('jobs-states').replaceChildren(...tabs);
  view.paused = counts.paused;
  $('jobs-pause').textContent = counts.paused ? 'Resume' : 'Pause';
  $('jobs-paused').hidden = !counts.paused;
}

export async function refreshJobs(force = false) {
  if (!view.name) return;
  const q = new URLSearchParams({ name: view.name, state: view.state, offset: String(view.offset), limit: String(PAGE) });
  const page = await api(`admin/jobs?${q}`);
  const key = JSON.stringify(page);
  if (!force && key === view.key) return;
  view.key = key;
  view.total = page.total;
  renderTabs(page.counts);
  const rows = page.jobs.map((j) =>
    h(
      'tr',
      { 'data-id': j.id },
      h('td', {}, jobLink(view.name, j.id)),
      h('td', { class: 'num' }, j.maxAttempts ? `${j.attemptsMade}/${j.maxAttempts}` : j.attemptsMade),
      h('td', {}, time(j.enqueuedAt)),
      h('td', {}, time(j.startedAt)),
      h('td', {}, j.runAt ? `runs ${time(j.runAt)}` : time(j.finishedAt)),
      h('td', { class: 'error', title: j.failedReason ?? '' }, j.failedReason ?? ''),
      rowActions(j),
    ),
  );
  replaceRows($('jobs-rows'), rows, `no ${view.state} jobs`, 7);
  const last = Math.min(view.offset + PAGE, page.total);
  $('jobs-page').textContent = page.total === 0 ? '' : `${view.offset + 1}–${last} of ${page.total}`;
  $('jobs-prev').disabled = view.offset === 0;
  $('jobs-next').disabled = last >= page.total;
}

function fillNames(names) {
  const select = $('jobs-name');
  const have = [...select.options].map((o) => o.value).join('\n');
  if (have === names.join('\n')) return;
  select.replaceChildren(...names.map((n) => h('option', { value: n, selected: n === view.name }, n)));
  // Nothing chosen yet (no #jobs/ or #job/ route): show the first name.
  if (!view.name && names.length > 0 && !location.hash) select.dispatchEvent(new Event('change'));
}

async function find(id) {
  try {
    const found = await api(`admin/find?${new URLSearchParams({ id })}`);
    if (found.jobs.length === 1) return void (location.hash = `#job/${encodeURIComponent(found.jobs[0].name)}/${encodeURIComponent(id)}`);
    const parts = found.jobs.map((j) => h('span', {}, jobLink(j.name, j.id, `${j.name} (${j.state})`), ' '));
    for (const e of found.busEvents) parts.push(h('span', {}, `bus event ${e.name} at ${time(e.occurredAt)} `));
    if (parts.length === 0) return status(`no job or recent bus event has the id ${id}`, 'bad');
    $('jobs-status').replaceChildren(`${id}: `, ...parts);
    $('jobs-status').className = 'status ok';
  } catch (error) {
    status(`search failed: ${error.message}`, 'bad');
  }
}

async function clean(dryRun) {
  const form = new FormData($('clean-form'));
  const minutes = Number(form.get('minutes'));
  const body = { name: view.name, state: String(form.get('state')), olderThanMs: Math.round(minutes * 60_000), dryRun };
  if (!dryRun) {
    const dry = await api('admin/clean', { ...body, dryRun: true }).catch(() => undefined);
    if (!dry || !confirm(`Remove ${dry.count} ${body.state} job(s) of ${view.name}? This cannot be undone.`)) return;
  }
  await act('clean', body, (r) => (r.dryRun ? `dry run: would remove ${r.count} job${r.count === 1 ? '' : 's'}${r.count ? `: ${r.ids.slice(0, 5).map(short).join(', ')}${r.count > 5 ? ', …' : ''}` : ''}` : `removed ${r.count} job${r.count === 1 ? '' : 's'}`));
}

async function route() {
  const [kind, ...rest] = location.hash.slice(1).split('/');
  const parts = rest.map((p) => decodeURIComponent(p));
  if (kind === 'job' && parts.length === 2) {
    select(parts[0], view.state);
    return showJobPage(parts[0], parts[1]);
  }
  closeJobPage();
  if (kind === 'jobs' && parts[0]) select(parts[0], STATES.includes(parts[1]) ? parts[1] : view.state);
  else if (kind === 'find' && parts[0]) await find(parts[0]);
  await refreshJobs(true);
}

function select(name, state) {
  if (name !== view.name || state !== view.state) view.offset = 0;
  view.name = name;
  view.state = state;
  if ($('jobs-name').value !== name && [...$('jobs-name').options].some((o) => o.value === name)) $('jobs-name').value = name;
}

async function tick() {
  try {
    const { queues } = await api('queues');
    fillNames(queues.map((q) => q.name));
    await refreshJobs();
  } catch (error) {
    status(error.message, 'bad');
  }
}

export function startJobs() {
  $('jobs-name').addEventListener('change', () => void (location.hash = `#jobs/${encodeURIComponent($('jobs-name').value)}/${view.state}`));
  $('jobs-prev').addEventListener('click', () => ((view.offset = Math.max(0, view.offset - PAGE)), void refreshJobs(true)));
  $('jobs-next').addEventListener('click', () => ((view.offset += PAGE), void refreshJobs(true)));
  $('jobs-pause').addEventListener('click', () => act(view.paused ? 'resume' : 'pause', { name: view.name }, (r) => (r.paused ? `paused ${view.name}` : `resumed ${view.name}`)));
  $('jobs-find-form').addEventListener('submit', (ev) => {
    ev.preventDefault();
    const id = $('jobs-find').value.trim();
    if (id) location.hash = `#find/${encodeURIComponent(id)}`;
  });
  wireJobPage();
  $('clean-dry').addEventListener('click', () => clean(true));
  $('clean-go').addEventListener('click', () => clean(false));
  addEventListener('hashchange', () => void route());
  void tick().then(route);
  setInterval(tick, 2000);
}
