// A job's page: data, attempts, progress, logs, error and stack, timings, the envelope's ids and
// its causation chain (each cause found by id among the known job names and recent bus events,
// as links), with the actions that apply to its state.
import { $, api, h, pretty, short, time } from './dom.js';
import { promote, remove, retry } from './jobs.js';

const CHAIN_HOPS = 5;
let current; // { name, id }

const link = (hash, text, title) => h('a', { href: hash, class: 'mono', title: title ?? text }, text);
const findLink = (id) => link(`#find/${encodeURIComponent(id)}`, short(id), id);

function fact(term, value) {
  return value === undefined || value === '' ? [] : [h('dt', {}, term), h('dd', {}, value)];
}

/** Walks causationId up to CHAIN_HOPS steps: job -> cause -> its cause ... (each a link). */
async function renderChain(job) {
  const chain = $('job-chain');
  const correlation = job.envelope?.correlationId ? [' · correlation ', findLink(job.envelope.correlationId)] : [];
  const items = [h('li', {}, 'this job ', h('code', {}, short(job.id)), ...correlation)];
  chain.replaceChildren(...items);
  let cause = job.envelope?.causationId;
  for (let hop = 0; cause && hop < CHAIN_HOPS; hop += 1) {
    const found = await api(`admin/find?${new URLSearchParams({ id: cause })}`).catch(() => undefined);
    const parent = found?.jobs[0];
    const event = found?.busEvents[0];
    if (parent) {
      items.push(h('li', {}, 'caused by job ', link(`#job/${encodeURIComponent(parent.name)}/${encodeURIComponent(cause)}`, `${parent.name} ${short(cause)}`, cause), ` (${parent.state})`));
      const detail = await api(`admin/job?${new URLSearchParams({ name: parent.name, id: cause })}`).catch(() => undefined);
      cause = detail?.envelope?.causationId;
    } else if (event) {
      items.push(h('li', {}, 'caused by bus event ', h('strong', {}, event.name), ' ', findLink(cause), ` at ${time(event.occurredAt)}`));
      cause = event.causationId;
    } else {
      items.push(h('li', {}, 'caused by ', findLink(cause), ' (not a job of a known name, nor a recent bus event)'));
      cause = undefined;
    }
    chain.replaceChildren(...items);
  }
}

function render(job) {
  $('job-title').textContent = `${job.name} ${job.id}`;
  $('job-state').textContent = job.state;
  $('job-state').className = `badge s-${job.state}`;
  $('job-data').textContent = job.envelope ? pretty(job.payload) : pretty(job.data);
  $('job-facts').replaceChildren(
    ...fact('attempts', job.maxAttempts ? `${job.attemptsMade} of ${job.maxAttempts}` : String(job.attemptsMade)),
    ...fact('priority', job.priority ? String(job.priority) : ''),
    ...fact('enqueued', job.enqueuedAt ? new Date(job.enqueuedAt).toISOString() : ''),
    ...fact('started', job.startedAt ? new Date(job.startedAt).toISOString() : ''),
    ...fact('finished', job.finishedAt ? new Date(job.finishedAt).toISOString() : ''),
    ...fact('runs at', job.runAt ? new Date(job.runAt).toISOString() : ''),
    ...fact('envelope id', job.envelope?.id),
    ...fact('occurred', job.envelope?.occurredAt),
    ...fact('headers', job.envelope && Object.keys(job.envelope.headers ?? {}).length ? JSON.stringify(job.envelope.headers) : ''),
    ...fact('dead letter', job.deadLetter ? 'yes' : ''),
  );
  $('job-progress').textContent = pretty(job.progress);
  $('job-logs').textContent = job.logs.length ? job.logs.join('\n') : '(no log lines)';
  $('job-result').textContent = pretty(job.result);
  $('job-error').textContent = job.failedReason ? `${job.failedReason}${job.stack ? `\n\n${job.stack}` : ''}` : '(none)';
  $('job-retry').disabled = job.state !== 'failed';
  $('job-promote').disabled = job.state !== 'delayed';
  $('job-remove').disabled = job.state === 'active' || job.state === 'dead';
  $('job-replay').hidden = job.state !== 'dead';
}

export async function showJobPage(name, id) {
  const changed = current?.name !== name || current?.id !== id;
  current = { name, id };
  try {
    const job = await api(`admin/job?${new URLSearchParams({ name, id })}`);
    if (current?.id !== id) return;
    render(job);
    // Shown once filled: what is visible is always this job.
    $('job-page').hidden = false;
    if (changed) {
      $('job-page').scrollIntoView();
      await renderChain(job);
    }
  } catch (error) {
    $('job-title').textContent = `${name} ${id}`;
    $('job-state').textContent = 'gone';
    $('job-error').textContent = error.message;
    $('job-page').hidden = false;
  }
}

export async function refreshJobPage() {
  if (current) await showJobPage(current.name, current.id);
}

export function closeJobPage() {
  current = undefined;
  $('job-page').hidden = true;
}

async function replay() {
  if (!current) return;
  try {
    const result = await api('dead-letters/replay', { ids: [current.id] });
    const to = result.replayed[0]?.id;
    if (to) location.hash = `#job/${encodeURIComponent(current.name)}/${encodeURIComponent(to)}`;
  } catch (error) {
    $('job-error').textContent = `replay failed: ${error.message}`;
  }
}

export function wireJobPage() {
  $('job-retry').addEventListener('click', () => current && retry(current.name, current.id));
  $('job-promote').addEventListener('click', () => current && promote(current.name, current.id));
  $('job-remove').addEventListener('click', async () => {
    if (!current) return;
    const { name, id } = current;
    if (await remove(name, id)) location.hash = `#jobs/${encodeURIComponent(name)}`;
  });
  $('job-replay').addEventListener('click', replay);
  $('job-close').addEventListener('click', () => void (location.hash = `#jobs/${encodeURIComponent(current?.name ?? '')}`));
}
