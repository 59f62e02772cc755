// The demo page: plain browser JavaScript, no build step. It speaks the gateway's JSON protocol
// (docs/pubsub.md): {type:'subscribe', id, topic} out; 'subscribed', 'message', 'error' in.
// The tenant comes from ?tenant= (the server's authorize hook only lets this socket subscribe
// under tenant:{tenant}:...). A real application would take it from the session, not the URL.

const TENANTS = ['acme', 'globex', 'initech'];
const params = new URLSearchParams(location.search);
const tenant = /^[a-z0-9][a-z0-9-]{0,62}$/.test(params.get('tenant') ?? '') ? params.get('tenant') : 'acme';
const topic = `tenant:${tenant}:user:*:notifications`;

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

function showNotification(message) {
  const n = message.data;
  const user = userCard(n.userId, n.step === 'signed-up' ? n.text.replace(/^Signed up as /, '') : undefined);
  if (user.seen.has(message.id)) return;
  user.seen.add(message.id);
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

// ---- websocket -------------------------------------------------------------------------------

let retryMs = 500;

function setStatus(state, text) {
  $('status').dataset.state = state;
  $('status-text').textContent = text;
  $('signup-button').disabled = state !== 'live';
}

function connect() {
  const proto = location.protocol === 'https:' ? 'wss:' : 'ws:';
  const ws = new WebSocket(`${proto}//${location.host}/pubsub?tenant=${encodeURIComponent(tenant)}`);
  setStatus('connecting', 'connecting');
  ws.addEventListener('open', () => ws.send(JSON.stringify({ type: 'subscribe', id: 1, topic })));
  ws.addEventListener('message', (event) => {
    const frame = JSON.parse(event.data);
    if (frame.type === 'subscribed') {
      retryMs = 500;
      setStatus('live', 'live');
      void loadAudit();
    } else if (frame.type === 'message') {
      showNotification(frame);
    } else if (frame.type === 'error') {
      setStatus('error', `refused: ${frame.message}`);
    } else if (frame.type === 'gap' || frame.type === 'dropped' || frame.type === 'resubscribed') {
      // Live updates may have been lost: the audit log is the record, reload it.
      void loadAudit();
    }
  });
  ws.addEventListener('close', () => {
    if ($('status').dataset.state !== 'error') setStatus('offline', `offline, retrying in ${Math.round(retryMs / 100) / 10} s`);
    setTimeout(connect, retryMs);
    retryMs = Math.min(retryMs * 2, 10_000);
  });
}

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
connect();
