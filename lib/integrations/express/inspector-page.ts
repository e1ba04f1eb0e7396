/**
 * The run inspector page: a server-rendered shell (styles, configuration,
 * script) with a per-response CSP nonce. Everything the page shows comes from
 * the JSON routes and is rendered by the script as text.
 */
import { randomBytes } from 'node:crypto';
import type { RequestHandler } from 'express';
import { WEBHOOK_PATH } from '../../authoring/webhook.js';
import { INSPECTOR_CLIENT_JS } from './inspector-client.js';

/** Default inspector path. */
export const DEFAULT_INSPECTOR_PATH = '/inspector';

/** Escapes text for HTML text and attribute values. */
export function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}

/** JSON that is safe inside a `<script type="application/json">` element. */
function scriptJson(value: unknown): string {
  return JSON.stringify(value).replace(/</g, '\\u003c').replace(/>/g, '\\u003e').replace(/&/g, '\\u0026');
}

const STYLES = `
:root{--fg:#1d2330;--muted:#5b6475;--line:#e3e6ec;--bg2:#f5f7fa;--accent:#2f5bd3}
*{box-sizing:border-box} [hidden]{display:none!important}
body{font:14px/1.5 system-ui,-apple-system,Segoe UI,Roboto,sans-serif;color:var(--fg);margin:0}
header{display:flex;gap:1rem;align-items:baseline;padding:.8rem 1.5rem;border-bottom:1px solid var(--line);background:var(--bg2)}
header h1{font-size:1.15rem;margin:0} header h1 a{color:inherit;text-decoration:none} header .muted{flex:1}
main{padding:1rem 1.5rem 3rem;max-width:1200px}
h2{font-size:1.25rem;margin:.6rem 0} h3{font-size:1.05rem;margin:1.4rem 0 .4rem}
a{color:var(--accent)} code{font:12.5px ui-monospace,SFMono-Regular,Menlo,monospace;word-break:break-all}
.muted{color:var(--muted)} .error{color:#b42318}
table{border-collapse:collapse;width:100%} th,td{text-align:left;vertical-align:top;padding:.4rem .5rem;border-bottom:1px solid var(--line)}
th{font-weight:600;color:var(--muted);font-size:12.5px;text-transform:uppercase;letter-spacing:.03em}
.badge{display:inline-block;padding:0 .45rem;border-radius:4px;font-size:12.5px;background:#e8ebf3}
.st-completed{background:#dcf4e2;color:#11602a}.st-failed{background:#fde2e2;color:#9b1c1c}.st-cancelled,.st-disposed,.st-closed{background:#eceef1;color:#555}
.st-running,.st-waiting,.st-retrying{background:#fff1cc;color:#7a5200}.st-pending{background:#e6edff;color:#2340a0}.st-conflict{background:#fde2e2;color:#9b1c1c}
dl.summary{display:grid;grid-template-columns:max-content 1fr;gap:.2rem 1.2rem;margin:.5rem 0}
dl.summary dt{color:var(--muted)} dl.summary dd{margin:0}
pre.stream{max-height:24rem;overflow:auto;background:#f6f7f9;padding:.5rem;margin:.3rem 0} pre.stream .chunk{white-space:pre-wrap}
pre{background:var(--bg2);padding:.5rem .7rem;border-radius:6px;max-height:16rem;overflow:auto;margin:0;font-size:12.5px}
.timeline td.at{white-space:nowrap;color:var(--muted);font-variant-numeric:tabular-nums}
.timeline .track{width:22%;min-width:120px}
.lane{position:relative;height:1.3rem;margin:0 4px;background:linear-gradient(var(--line),var(--line)) 0 50%/100% 1px no-repeat}
.bar{position:absolute;top:.35rem;height:.6rem;min-width:3px;border-radius:3px;background:#8aa4e8}
.bar-run{background:#1d2330;width:3px!important;margin-left:-1px;height:1rem;top:.15rem}.bar-hook{background:#e0a526}.bar-sleep{background:#9aa3b5}
tr.item-run td{background:#fafbfc}
ul.tries{margin:.2rem 0 0;padding-left:1.1rem;color:var(--muted)}
form.filters{display:flex;gap:1rem;align-items:end;margin:.4rem 0 1rem}
form.resume{display:grid;gap:.5rem;max-width:640px;background:var(--bg2);padding:1rem;border-radius:8px;margin-top:1rem}
form.resume h3{margin:0} form.resume label{display:grid;gap:.2rem;color:var(--muted)} form.resume button{justify-self:start} form.resume p{margin:0} p.resume-status{max-width:640px;margin:.5rem 0}
input,select,textarea,button{font:inherit;padding:.3rem .5rem} textarea{font-family:ui-monospace,monospace}
button{cursor:pointer} button.danger{font-size:13px;vertical-align:middle;color:#9b1c1c;border:1px solid #e6b4b4;background:#fff;border-radius:4px} button.link{background:none;border:0;color:var(--accent);padding:0;text-decoration:underline}
`;

/** Options of {@link inspectorPage}. */
export interface InspectorPageOptions {
  /** The resume route's path, relative to the router. */
  resumePath: string;
  /** The dashboard path relative to the router, when it is mounted (linked from the header). */
  dashboardPath?: string;
}

/**
 * The handler serving the inspector page. API URLs are built from
 * `req.baseUrl`, so the page works wherever the router is mounted.
 */
export function inspectorPage(opts: InspectorPageOptions): RequestHandler {
  return (req, res) => {
    const nonce = randomBytes(16).toString('base64');
    const base = req.baseUrl;
    const config = { base, resumePath: opts.resumePath, webhookPath: WEBHOOK_PATH };
    const dashboard = opts.dashboardPath ? `<a href="${escapeHtml(base + opts.dashboardPath)}">BullMQ dashboard</a>` : '';
    res.set({
      'Content-Type': 'text/html; charset=utf-8',
      'Cache-Control': 'no-store',
      'X-Content-Type-Options': 'nosniff',
      'Referrer-Policy': 'no-referrer',
      // The page only talks to this origin, and only its own nonce'd script and style run.
      'Content-Security-Policy':
        `default-src 'none'; script-src 'nonce-${nonce}'; style-src 'nonce-${nonce}'; connect-src 'self'; ` +
        "img-src 'self' data:; form-action 'self'; base-uri 'none'; frame-ancestors 'none'",
    });
    res.send(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Run inspector · workflow-redis</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<link rel="icon" href="data:,">
<style nonce="${nonce}">${STYLES}</style></head>
<body>
<header><h1><a href="?">Run inspector</a></h1><span class="muted">workflow-redis</span>${dashboard}</header>
<main id="app"><p class="muted">Loading…</p></main>
<script type="application/json" id="wf-config">${scriptJson(config)}</script>
<script nonce="${nonce}">${INSPECTOR_CLIENT_JS}</script>
</body></html>`);
  };
}
