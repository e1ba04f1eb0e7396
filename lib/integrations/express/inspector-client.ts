/**
 * The run inspector's browser script, shipped as text (no build step). It
 * reads its configuration from a JSON script tag, calls the router's JSON
 * routes, and builds every node with `textContent` / `setAttribute` — never
 * `innerHTML` — so run data cannot inject markup.
 *
 * Kept as a string rather than a serialised function: tsx/esbuild may insert
 * helpers (`__name`) into compiled functions that do not exist in the browser.
 * The code avoids backticks and `${` so it can live in this template literal.
 */
/** The inspector's browser script (plain ES2020, run with the page's CSP nonce). */
export const INSPECTOR_CLIENT_JS = String.raw`
'use strict';
(() => {
  const cfg = JSON.parse(document.getElementById('wf-config').textContent);
  const app = document.getElementById('app');
  const TERMINAL = ['completed', 'failed', 'cancelled'];

  function h(tag, attrs, ...children) {
    const el = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (v === undefined || v === null || v === false) continue;
      if (k === 'class') el.className = v;
      else if (k.startsWith('on')) el.addEventListener(k.slice(2), v);
      else el.setAttribute(k, v === true ? '' : String(v));
    }
    const add = (c) => {
      if (c === undefined || c === null || c === false) return;
      if (Array.isArray(c)) c.forEach(add);
      else el.append(c instanceof Node ? c : document.createTextNode(String(c)));
    };
    children.forEach(add);
    return el;
  }

  async function api(path, init) {
    const res = await fetch(cfg.base + path, Object.assign({ credentials: 'same-origin', headers: { accept: 'application/json' } }, init));
    let body = null;
    try { body = await res.json(); } catch (e) { body = null; }
    if (!res.ok) {
      const err = new Error((body && body.error) || ('HTTP ' + res.status));
      err.status = res.status;
      throw err;
    }
    return body;
  }

  const pad = (n, w) => String(n).padStart(w || 2, '0');
  function fmtTime(iso) {
    if (!iso) return '—';
    const d = new Date(iso);
    return d.getFullYear() + '-' + pad(d.getMonth() + 1) + '-' + pad(d.getDate()) + ' ' +
      pad(d.getHours()) + ':' + pad(d.getMinutes()) + ':' + pad(d.getSeconds()) + '.' + pad(d.getMilliseconds(), 3);
  }
  function fmtDur(ms) {
    if (ms === undefined || ms === null || !isFinite(ms)) return '';
    if (ms < 1000) return Math.round(ms) + ' ms';
    if (ms < 60000) return (ms / 1000).toFixed(ms < 10000 ? 2 : 1) + ' s';
    // Round to the smaller unit first, so 3599.6 s reads "1 h 0 min", not "59 min 60 s".
    if (ms < 3600000 - 500) { const s = Math.round(ms / 1000); return Math.floor(s / 60) + ' min ' + (s % 60) + ' s'; }
    if (ms < 86400000 - 30000) { const m = Math.round(ms / 60000); return Math.floor(m / 60) + ' h ' + (m % 60) + ' min'; }
    const h = Math.round(ms / 3600000);
    return Math.floor(h / 24) + ' d ' + (h % 24) + ' h';
  }
  const ms = (iso) => (iso ? Date.parse(iso) : undefined);
  const plural = (n, word) => n + ' ' + word + (n === 1 ? '' : 's');
  const badge = (status) => h('span', { class: 'badge st-' + status, 'data-status': status }, status);
  const runLink = (id) => h('a', { href: '?run=' + encodeURIComponent(id) }, h('code', null, id));
  const errorBox = (msg) => h('p', { class: 'error', role: 'alert' }, msg);

  // ---- run list -------------------------------------------------------------
  function showList(params) {
    const status = params.get('status') || '';
    const workflowName = params.get('workflowName') || '';
    const version = params.get('version') || '';
    const select = h('select', { name: 'status' }, h('option', { value: '' }, 'any status'),
      ['pending', 'running', 'completed', 'failed', 'cancelled'].map((s) => h('option', { value: s, selected: s === status }, s)));
    const form = h('form', { method: 'get', class: 'filters' },
      h('label', null, 'Status ', select),
      h('label', null, 'Workflow ', h('input', { name: 'workflowName', value: workflowName, placeholder: 'any workflow' })),
      h('label', null, 'Version ', h('input', { name: 'version', value: version, placeholder: 'any version', size: 8 })),
      h('button', { type: 'submit' }, 'Filter'));
    const tbody = h('tbody');
    const table = h('table', { class: 'runs' }, h('thead', null, h('tr', null,
      h('th', null, 'Run'), h('th', null, 'Workflow'), h('th', null, 'Version'), h('th', null, 'Status'), h('th', null, 'Created'), h('th', null, 'Duration'))), tbody);
    const more = h('button', { type: 'button', hidden: true }, 'Older runs');
    const note = h('p', { class: 'muted' });
    app.replaceChildren(h('h2', null, 'Runs'), form, table, more, note);
    let cursor = null;
    async function load() {
      const q = new URLSearchParams({ limit: '25' });
      if (status) q.set('status', status);
      if (workflowName) q.set('workflowName', workflowName);
      if (version) q.set('version', version);
      if (cursor) q.set('cursor', cursor);
      try {
        const page = await api('/runs?' + q);
        for (const r of page.data) {
          const end = ms(r.completedAt);
          tbody.append(h('tr', { 'data-run': r.runId },
            h('td', null, runLink(r.runId)), h('td', null, r.workflowName), h('td', null, r.version),
            h('td', { title: r.waitingFor || '' }, badge(r.status), r.waitingFor ? h('span', { class: 'muted' }, ' no worker') : ''),
            h('td', null, fmtTime(r.createdAt)), h('td', null, end ? fmtDur(end - ms(r.createdAt)) : '')));
        }
        cursor = page.cursor;
        more.hidden = !page.hasMore;
        note.textContent = tbody.children.length === 0 ? 'No runs match.' : '';
      } catch (e) {
        note.replaceChildren(errorBox('Could not list runs: ' + e.message));
      }
    }
    more.addEventListener('click', load);
    load();
  }

  // ---- one run --------------------------------------------------------------
  function itemSpan(it, now) {
    if (it.kind === 'run') return [ms(it.at), ms(it.at)];
    if (it.kind === 'step') return [ms(it.startedAt || it.createdAt), ms(it.endedAt) || now];
    if (it.kind === 'hook') return [ms(it.createdAt), ms(it.endedAt) || (it.status === 'waiting' ? now : ms(it.lastPayloadAt) || ms(it.createdAt))];
    if (it.kind === 'patch') return [ms(it.createdAt), ms(it.createdAt)];
    return [ms(it.createdAt), ms(it.completedAt) || ms(it.resumeAt) || now];
  }

  function describe(it, useToken) {
    if (it.kind === 'run') {
      const label = { created: 'Run created', started: 'Run started', completed: 'Run completed', failed: 'Run failed', cancelled: 'Run cancelled' }[it.event];
      return { what: h('strong', null, label), status: TERMINAL.includes(it.event) ? badge(it.event) : '', details: it.error ? h('span', { class: 'error' }, it.error) : '' };
    }
    if (it.kind === 'step') {
      const tries = it.tries.filter((t) => t.outcome !== 'completed' || it.tries.length > 1).map((t) =>
        h('li', null, 'attempt ' + t.attempt + ': ' + t.outcome + (t.durationMs !== undefined ? ' after ' + fmtDur(t.durationMs) : ''),
          t.error ? h('span', { class: 'error' }, ' — ' + t.error) : '', t.retryAt ? ' (retry at ' + fmtTime(t.retryAt) + ')' : ''));
      return {
        what: h('span', null, 'Step ', h('code', { class: 'step-name' }, it.name)),
        status: badge(it.status),
        details: h('div', null, h('span', { class: 'attempts' }, plural(it.attempts, 'attempt')),
          it.durationMs !== undefined ? ' · ' + fmtDur(it.durationMs) : '', tries.length ? h('ul', { class: 'tries' }, tries) : ''),
      };
    }
    if (it.kind === 'hook') {
      return {
        what: h('span', null, it.isWebhook ? 'Webhook ' : 'Hook ', h('code', null, it.id)),
        status: badge(it.status),
        details: h('div', null, plural(it.payloads, 'payload') + ' received',
          it.lastPayloadAt ? ' (last ' + fmtTime(it.lastPayloadAt) + ')' : '',
          it.tags && it.tags.length ? h('div', null, 'tags ', ...it.tags.map((t) => h('code', null, t))) : '',
          // A webhook is resumed by HTTP requests to its URL, not with a JSON payload.
          it.token && it.isWebhook ? h('div', null, 'URL ', h('code', null, cfg.base + cfg.webhookPath + '/' + encodeURIComponent(it.token))) : '',
          it.token && !it.isWebhook ? h('div', null, 'token ', h('code', null, it.token), ' ',
            h('button', { type: 'button', class: 'link', onclick: () => useToken(it.token) }, 'resume…')) : ''),
      };
    }
    if (it.kind === 'patch') {
      return {
        what: h('span', null, 'Patch ', h('code', null, it.name)),
        status: badge(it.status),
        details: it.deprecated ? 'recorded by deprecatePatch(): the new code' : 'patched() took the new branch',
      };
    }
    const planned = it.resumeAt ? ms(it.resumeAt) - ms(it.createdAt) : undefined;
    return {
      what: h('span', null, 'Sleep ', h('code', null, it.id)),
      status: badge(it.status),
      details: it.resumeAt ? 'until ' + fmtTime(it.resumeAt) + (planned !== undefined ? ' (' + fmtDur(planned) + ')' : '') : '',
    };
  }

  function renderSummary(run) {
    const start = ms(run.createdAt);
    const end = ms(run.completedAt);
    const rows = [
      ['Workflow', h('code', null, run.workflowName)],
      ['Version', h('code', null, run.version)],
      ['Status', h('span', { id: 'run-status' }, badge(run.status), run.waitingFor ? h('span', { class: 'waiting' }, ' ' + run.waitingFor) : '')],
      ['Created', fmtTime(run.createdAt)],
      ['Started', fmtTime(run.startedAt)],
      ['Ended', fmtTime(run.completedAt)],
      ['Duration', end ? fmtDur(end - start) : 'running for ' + fmtDur(Date.now() - start)],
    ];
    if (run.error) rows.push(['Error', h('span', { class: 'error' }, (run.error.name ? run.error.name + ': ' : '') + run.error.message)]);
    if (run.status === 'completed') {
      let text = JSON.stringify(run.output, null, 2);
      if (text === undefined) text = 'undefined';
      if (text.length > 4000) text = text.slice(0, 4000) + '\n… (truncated)';
      rows.push(['Output', h('pre', null, text)]);
    }
    return h('dl', { class: 'summary' }, rows.map(([k, v]) => [h('dt', null, k), h('dd', null, v)]));
  }

  function renderTimeline(t, useToken) {
    const now = Date.now();
    const t0 = ms(t.run.createdAt);
    const spans = t.items.map((it) => itemSpan(it, now));
    const t1 = Math.max(t0 + 1, ms(t.run.completedAt) || 0, ...spans.map((s) => s[1] || 0));
    const rows = t.items.map((it, i) => {
      const d = describe(it, useToken);
      const [a, b] = spans[i];
      const bar = h('div', { class: 'bar bar-' + it.kind });
      bar.style.left = ((a - t0) / (t1 - t0)) * 100 + '%';
      bar.style.width = Math.max(0, ((b - a) / (t1 - t0)) * 100) + '%';
      const startIso = it.kind === 'run' ? it.at : it.createdAt;
      return h('tr', { class: 'item-' + it.kind, 'data-kind': it.kind, 'data-name': it.kind === 'step' ? it.name : undefined, 'data-status': it.status || it.event },
        h('td', { class: 'at', title: fmtTime(startIso) }, '+' + fmtDur(ms(startIso) - t0)),
        h('td', null, d.what), h('td', null, d.status), h('td', null, d.details),
        h('td', { class: 'track' }, h('div', { class: 'lane' }, bar)));
    });
    return [
      h('table', { class: 'timeline' }, h('thead', null, h('tr', null,
        h('th', null, 'At'), h('th', null, 'What'), h('th', null, 'Status'), h('th', null, 'Details'), h('th', { class: 'track' }, 'Span'))), h('tbody', null, rows)),
      h('p', { class: 'muted' }, plural(t.eventCount, 'event') + (t.truncated ? ' (timeline truncated: the log is longer)' : '') + ' · ',
        h('a', { href: cfg.base + '/runs/' + encodeURIComponent(t.run.runId) + '/events' }, 'raw event log (JSON)')),
    ];
  }

  function resumeForm(onDone) {
    const token = h('input', { name: 'token', required: true, autocomplete: 'off', placeholder: 'hook token' });
    const data = h('textarea', { name: 'data', rows: 4, spellcheck: 'false' }, '{}');
    // The outcome lives outside the form: a resume that ends the run hides the form,
    // and the person who sent it must still see that it went through.
    const out = h('p', { class: 'muted resume-status', role: 'status' });
    const form = h('form', { class: 'resume' }, h('h3', null, 'Resume a hook'),
      h('label', null, 'Token', token), h('label', null, 'Payload (JSON)', data), h('button', { type: 'submit' }, 'Send'));
    form.addEventListener('submit', async (ev) => {
      ev.preventDefault();
      let payload;
      try { payload = data.value.trim() === '' ? null : JSON.parse(data.value); } catch (e) { out.replaceChildren(errorBox('The payload is not valid JSON: ' + e.message)); return; }
      try {
        const res = await fetch(cfg.base + cfg.resumePath, { method: 'POST', credentials: 'same-origin', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ token: token.value, data: payload }) });
        const body = await res.json().catch(() => ({}));
        if (!res.ok) out.replaceChildren(errorBox(res.status + ': ' + (body.error || res.statusText)));
        else { out.replaceChildren('Sent: run ', h('code', null, body.runId), ' resumed.'); onDone(); }
      } catch (e) {
        out.replaceChildren(errorBox('Request failed: ' + e.message));
      }
    });
    return { form, out, setToken: (v) => { token.value = v; data.focus(); }, token };
  }

  // The run's main stream, live (NDJSON over fetch, with the page's credentials), its last 1000 chunks.
  function streamView(runId) {
    const lines = h('pre', { id: 'stream', class: 'stream' });
    const state = h('p', { class: 'muted', id: 'stream-state' }, 'Reading the stream…');
    const box = h('div', null, lines, state);
    (async () => {
      try {
        const res = await fetch(cfg.base + '/runs/' + encodeURIComponent(runId) + '/stream', { credentials: 'same-origin', headers: { accept: 'application/x-ndjson' } });
        if (!res.ok) throw new Error('HTTP ' + res.status);
        const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
        let buf = '';
        let n = 0;
        state.textContent = 'Live: chunks appear as the run writes them.';
        for (;;) {
          const r = await reader.read();
          if (r.done) break;
          buf += r.value;
          const parts = buf.split('\n');
          buf = parts.pop();
          for (const line of parts) {
            if (!line) continue;
            const v = JSON.parse(line);
            lines.append(h('div', { class: 'chunk' }, typeof v === 'string' ? v : JSON.stringify(v)));
            n++;
            if (lines.children.length > 1000) lines.firstChild.remove();
          }
        }
        state.textContent = n === 0 ? 'The stream ended empty.' : 'The stream ended (' + plural(n, 'chunk') + ').';
      } catch (e) {
        state.replaceChildren(errorBox('Could not read the stream: ' + e.message));
      }
    })();
    return box;
  }

  function showRun(runId) {
    const summary = h('div');
    const timeline = h('div', { id: 'timeline' });
    const note = h('div');
    let timer;
    const refresh = async () => {
      clearTimeout(timer);
      try {
        const t = await api('/runs/' + encodeURIComponent(runId) + '/timeline');
        summary.replaceChildren(renderSummary(t.run));
        timeline.replaceChildren(...renderTimeline(t, resume.setToken));
        const live = t.items.find((it) => it.kind === 'hook' && it.token && !it.isWebhook);
        if (live && !resume.token.value) resume.token.value = live.token;
        resume.form.hidden = TERMINAL.includes(t.run.status);
        cancel.hidden = TERMINAL.includes(t.run.status);
        note.replaceChildren();
        // Follow a live run until it ends; a finished run's log no longer changes.
        if (!TERMINAL.includes(t.run.status)) timer = setTimeout(refresh, 2000);
      } catch (e) {
        note.replaceChildren(errorBox(e.status === 404 ? 'No run with this id.' : 'Could not load the run: ' + e.message));
      }
    };
    const resume = resumeForm(refresh);
    resume.form.hidden = true;
    const cancel = h('button', { type: 'button', class: 'danger', hidden: true }, 'Cancel run');
    cancel.addEventListener('click', async () => {
      if (!confirm('Cancel this run? Its hooks stop accepting payloads and it will not continue.')) return;
      try {
        await api('/runs/' + encodeURIComponent(runId) + '/cancel', { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
      } catch (e) {
        note.replaceChildren(errorBox('Could not cancel: ' + e.message));
      }
      refresh();
    });
    app.replaceChildren(h('p', null, h('a', { href: '?' }, '← All runs')), h('h2', null, 'Run ', h('code', null, runId), ' ', cancel),
      note, summary, h('h3', null, 'Timeline'), timeline, resume.form, resume.out, h('h3', null, 'Stream'), streamView(runId));
    refresh();
  }

  const params = new URLSearchParams(location.search);
  if (params.get('run')) showRun(params.get('run'));
  else showList(params);
})();
`;
