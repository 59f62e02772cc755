// Helpers shared by the page's modules: element builders (text only: every value from the server
// is inserted as text, never as HTML, since payloads are untrusted), the API call, formatting.

export const $ = (id) => document.getElementById(id);

function build(el, attrs, children) {
  for (const [key, value] of Object.entries(attrs)) {
    if (value === undefined || value === null || value === false) continue;
    if (key.startsWith('on')) el.addEventListener(key.slice(2), value);
    else el.setAttribute(key, value === true ? '' : String(value));
  }
  for (const child of children) el.append(child instanceof Node ? child : String(child ?? ''));
  return el;
}

/** Creates an element: h('td', { class: 'num' }, 'text', child...). */
export const h = (tag, attrs = {}, ...children) => build(document.createElement(tag), attrs, children);

/** Creates an SVG element (presentation attributes only: the CSP allows no inline style). */
export const svg = (tag, attrs = {}, ...children) => build(document.createElementNS('http://www.w3.org/2000/svg', tag), attrs, children);

export async function api(path, body) {
  const init = body === undefined ? {} : { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) };
  const res = await fetch(`api/${path}`, init);
  const data = await res.json().catch(() => ({}));
  if (!res.ok) throw new Error(data.error ?? `${res.status} ${res.statusText}`);
  return data;
}

export const time = (at) => (at ? new Date(at).toLocaleTimeString([], { hour12: false }) + '.' + String(new Date(at).getMilliseconds()).padStart(3, '0') : '');
export const short = (id) => (id ? String(id).slice(-8) : '');
export const plural = (n, word) => `${n} ${word}${n === 1 ? '' : 's'}`;
export const pretty = (value) => (value === undefined ? '(none)' : JSON.stringify(value, null, 2));

export function replaceRows(tbody, rows, emptyText, columns) {
  tbody.replaceChildren(...(rows.length ? rows : [h('tr', { class: 'empty' }, h('td', { colspan: columns }, emptyText))]));
}

/** Shows a one-line outcome in a status element (`kind`: ok or bad). */
export function say(el, text, kind = 'ok') {
  el.textContent = text;
  el.className = `status ${kind}`;
}
