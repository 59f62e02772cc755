// The demo page: plain browser JavaScript, no build step of its own. Live updates come through
// @events/pubsub's client (its browser build, served by the demo at /vendor/pubsub-client.js): it
// speaks the gateway's protocol, reconnects and resubscribes by itself, and publishes the chat.
// The tenant comes from ?tenant= (the server's authorize hooks only let this socket subscribe and
// publish under tenant:{tenant}:...). A real application would take it from the session, not the URL.
import { createPubSubClient } from '/vendor/pubsub-client.js';

const TENANTS = ['acme', 'globex', 'initech'];
const params = new URLSearchParams(location.search);
const tenant = /^[a-z0-9][a-z0-9-]{0,62}$/.test(params.get('tenant') ?? '') ? params.get('tenant') : 'acme';
const topic = `tenant:${tenant}:user:*:notifications`;
const chatChannel = `tenant:${tenant}:chat`;
// This page's name in the chat and in the tenant's "online" list (presence on the chat room).
const visitor = `guest-${Math.random().toString(36).slice(2, 6)}`;

const STEPS = {
  'signed-up': { label: 'Signed up', tier: 'bus', order: 0 },
  'audit-recorded': { label: 'Audit', tier: 'bus', order: 1 },
  'email-queued': { label: 'Queued', tier: 'queue', order: 2 },
  'email-attempt': { label: 'Sending', tier: 'queue', order: 3 },
  'email-failed': { label: 'Failed', tier: 'queue', order: 4 },
  'email-sent': { label: 'Sent', tier: 'queue', order: 5 },
};

const $ = (id) => document.getElementById(id);
const el = (tag, props = {}, ...children) => {
  const node = Object.assign(document.createElement(tag), props);
  for (const child of children) node.append(child);
  return node;
};

$('tenant-name').textContent = tenant;
$('channel-example').textContent = `tenant:${tenant}:user:{id}:notifications`;
$('chat-channel').textContent = chatChannel;
document.title = `${tenant} · signup story`;
for (const other of TENANTS.filter((t) => t !== tenant)) {
  $('tenant-links').append(el('a', { href: `/?tenant=${other}`, target: '_blank', textContent: other }));
}

// ---- live notifications --------------------------------------------------------------------

/** userId -> { card, list, chip, seen:Set } */
const users = new Map();

function userCard(userId, email) {
  let user = users.get(userId);
  if (!user) {
    const chip = el('span', { className: 'chip', textContent: 'in progress' });
    const name = el('span', { className: 'email', textContent: email ?? 'new user' });
    const list = el('ol', { className: 'timeline' });
    const card = el(
      'article',
      { className: 'user' },
      el('header', {}, el('div', {}, name, el('span', { className: 'user-id', textContent: userId })), chip),
      list,
    );
    card.dataset.testid = 'user';
    card.dataset.userId = userId;
    $('users').prepend(card);
    $('empty').hidden = true;
    user = { card, list, chip, name, seen: new Set() };
    users.set(userId, user);
  }
  if (email) user.name.textContent = email;
  return user;
}

function showNotification(n, meta) {
  const user = userCard(n.userId, n.step === 'signed-up' ? n.text.replace(/^Signed up as /, '') : undefined);
  if (user.seen.has(meta.id)) return;
  user.seen.add(meta.id);
  const step = STEPS[n.step] ?? { label: n.step, tier: 'pubsub', order: 9 };
  const time = new Date(n.at);
  const item = el(
    'li',
    { className: `step step-${n.step}` },
    el('span', { className: `tag tag-${step.tier}`, textContent: step.label }),
    el('span', { className: 'text', textContent: n.text }),
    el('time', { dateTime: n.at, textContent: time.toLocaleTimeString([], { hour12: false }) + '.' + String(time.getMilliseconds()).padStart(3, '0') }),
  );
  item.dataset.testid = 'notification';
  item.dataset.step = n.step;
  item.dataset.at = n.at;
  // Steps from different processes can arrive out of order: keep the timeline in time order.
  const after = [...user.list.children].find((li) => li.dataset.at > n.at);
  user.list.insertBefore(item, after ?? null);
  if (n.step === 'email-sent') {
    user.chip.textContent = 'welcome email sent';
    user.chip.classList.add('done');
  } else if (n.step === 'email-failed' && !user.chip.classList.contains('done')) {
    user.chip.textContent = 'retrying';
  }
  if (n.step === 'audit-recorded') void loadAudit();
}

// ---- the pubsub client ----------------------------------------------------------------------

function setStatus(state, text) {
  $('status').dataset.state = state;
  $('status-text').textContent = text;
  $('signup-button').disabled = state !== 'live';
  $('chat-send').disabled = state !== 'live';
}

const proto = location.protocol === 'https:' ? 'wss:' : 'ws:';
const client = createPubSubClient({
  url: `${proto}//${location.host}/pubsub?tenant=${encodeURIComponent(tenant)}&name=${encodeURIComponent(visitor)}`,
  onError: (event) => console.warn(`[pubsub client] ${event.kind}: ${event.error.message}`),
});
let subscribed = false;
client.on('open', () => {
  // After a reconnect the client resubscribes by itself; what was broadcast meanwhile is lost,
  // and the audit log is the record: reload it.
  if (!subscribed) return;
  setStatus('live', 'live');
  void loadAudit();
  refreshOnline();
});
client.on('close', ({ willReconnect }) => {
  if ($('status').dataset.state !== 'error') setStatus('offline', willReconnect ? 'offline, reconnecting' : 'offline');
});
// Live updates may have been lost: reload the record.
for (const event of ['gap', 'dropped', 'resubscribed']) client.on(event, () => void loadAudit());

async function goLive() {
  setStatus('connecting', 'connecting');
  try {
    await Promise.all([client.subscribe(topic, showNotification), client.subscribe(chatChannel, showChatLine, { presence: true, presenceEvents: true })]);
    subscribed = true;
    setStatus('live', 'live');
    void loadAudit();
    refreshOnline();
  } catch (error) {
    // Refused (UNAUTHORIZED), or no answer in time: say so; a reload tries again.
    setStatus('error', `${error.code ?? 'error'}: ${error.message}`);
  }
}

// ---- who else of the tenant is online (presence on the chat room) ---------------------------

let onlineTimer;
/** A join or leave asks the gateway again (coalesced): the answer is the truth, events are hints. */
function refreshOnline() {
  onlineTimer ??= setTimeout(async () => {
    onlineTimer = undefined;
    try {
      const { members, total } = await client.presence(chatChannel, { limit: 50 });
      const others = members.filter((m) => m.user !== visitor).map((m) => el('span', { className: 'who', textContent: m.user }));
      for (const who of others) who.dataset.testid = 'online-member';
      const more = total - members.length > 0 ? [` +${total - members.length} more`] : [];
      $('online').replaceChildren(others.length ? 'online: ' : 'nobody else online', ...others.flatMap((who, i) => (i ? [', ', who] : [who])), ...more);
      $('online').hidden = false;
    } catch (error) {
      $('online').textContent = `online list unavailable (${error.code ?? 'error'})`;
    }
  }, 50);
}
client.on('join', refreshOnline);
client.on('leave', refreshOnline);

// ---- chat (client publish) -----------------------------------------------------------------

const MAX_CHAT_LINES = 100;

function showChatLine(line, meta) {
  const time = new Date(meta.occurredAt);
  const item = el(
    'li',
    { className: 'chat-line' },
    el('b', { className: 'from', textContent: line.from }),
    el('span', { className: 'text', textContent: line.text }),
    el('time', { dateTime: meta.occurredAt, textContent: time.toLocaleTimeString([], { hour12: false }) }),
  );
  item.dataset.testid = 'chat-line';
  $('chat-lines').append(item);
  while ($('chat-lines').children.length > MAX_CHAT_LINES) $('chat-lines').firstElementChild.remove();
  $('chat-empty').hidden = true;
  item.scrollIntoView({ block: 'nearest' });
}

$('chat-name').value = visitor;
$('chat-form').addEventListener('submit', async (event) => {
  event.preventDefault();
  const message = $('chat-message');
  message.className = 'form-message';
  message.textContent = '';
  try {
    // Resolves with the receiver count once the gateway broadcast it; rejects with the gateway's code.
    await client.publish(chatChannel, { from: $('chat-name').value, text: $('chat-text').value });
    $('chat-text').value = '';
  } catch (error) {
    message.textContent = `not sent (${error.code}): ${error.message}`;
    message.classList.add('bad');
  }
});

// ---- API -------------------------------------------------------------------------------------

$('signup-form').addEventListener('submit', async (event) => {
  event.preventDefault();
  const email = $('email').value.trim();
  const message = $('form-message');
  message.className = 'form-message';
  message.textContent = 'Signing up…';
  $('signup-button').disabled = true;
  try {
    const response = await fetch('/api/signup', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ email, tenant }),
    });
    const body = await response.json();
    if (!response.ok) throw new Error(body.error ?? response.statusText);
    userCard(body.userId, body.email);
    message.textContent = `Signed up ${body.email}. Watch the steps arrive →`;
    message.classList.add('ok');
    $('email').value = '';
  } catch (error) {
    message.textContent = error.message;
    message.classList.add('bad');
  } finally {
    $('signup-button').disabled = $('status').dataset.state !== 'live';
  }
});

async function loadAudit() {
  try {
    const response = await fetch(`/api/audit?tenant=${encodeURIComponent(tenant)}`);
    const body = await response.json();
    if (!response.ok) throw new Error(body.error);
    const rows = body.records
      .slice()
      .reverse()
      .map((r) =>
        el(
          'tr',
          {},
          el('td', { textContent: new Date(r.recordedAt).toLocaleTimeString([], { hour12: false }) }),
          el('td', {}, el('code', { textContent: r.event })),
          el('td', { textContent: r.email }),
          el('td', { className: 'user-id', textContent: r.userId }),
        ),
      );
    $('audit-rows').replaceChildren(...rows);
    $('audit-empty').hidden = rows.length > 0;
    $('audit-empty').textContent = 'Nothing recorded yet.';
  } catch (error) {
    $('audit-empty').hidden = false;
    $('audit-empty').textContent = `Audit log unavailable: ${error.message}`;
  }
}

$('audit-refresh').addEventListener('click', () => void loadAudit());
void goLive();
