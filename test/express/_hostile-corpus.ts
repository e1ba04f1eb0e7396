/**
 * The generated corpus of the hostile-HTTP suite (not a spec file): a seeded
 * generator of invalid requests against every route of workflowRouter().
 *
 * Every request must be refused without a write, so requests that name a
 * live token or a live run are built to be invalid by construction: a live
 * webhook token only ever comes with a method a Fetch Request cannot carry,
 * a broken body (corrupt or unsupported encoding, over the limit) or a
 * broken %-escape; a live token in a resume body only inside a broken body;
 * a live run's cancel only without a JSON content type or auth.
 */
import { brotliCompressSync, deflateSync, gzipSync } from 'node:zlib';

/** Strings that must never reach a log line. */
export const PAYLOAD_MARKER = 'pl-marker-5be1d7';
export const KEY_MARKER = 'key-marker-09c4aa';

/** What the corpus aims at (live tokens and runs from the suite's set-up). */
export interface Targets {
  /** A live plain hook's token (not a webhook: the webhook route refuses it anyway). */
  plainToken: string;
  /** Live webhook tokens (default, manual and static responses). */
  webhookTokens: string[];
  /** A run that is still running (cancel would write). */
  liveRunId: string;
  /** Finished runs (cancel is a 409, no write). */
  finishedRunIds: string[];
}

/** One request of the corpus. */
export interface HostileCase {
  n: number;
  kind: string;
  method: string;
  path: string;
  headers: Record<string, string>;
  body?: Buffer;
  /** Sent with the operator header the suite's auth middleware accepts. */
  auth: boolean;
  /** An operator route (403 on a router without auth). */
  operator: boolean;
  /** The one status the case must get, when it is certain. */
  expect?: number;
}

/** True when Express cannot decode the segment (its URIError must be a 400). */
export function undecodable(seg: string): boolean {
  try {
    decodeURIComponent(seg);
    return false;
  } catch {
    return true;
  }
}

/** Seeded PRNG (mulberry32): the same seed gives the same corpus. */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Escapes decodeURIComponent refuses: a route parameter holding one is a 400 before any handler runs. */
export const BAD_ESCAPES = ['%ZZ', '%', '%E0%A4', '%C0%AF', '%ED%A0%80', '%FF', '%2', '%%', '%E2%82', '%F4%90%80%80', '%uD800', '%C3%28', '%80'];
/** Odd but decodable: the parameter becomes another value (still a path segment or not). */
const ODD_SEGMENTS = ['..%2f..%2fruns', '%2e%2e%2f', '%2e%2e', '..%5c..%5c', '%2F', '%00', '%20', 'x%0d%0aSet-Cookie:%20a=b', '%EF%BF%BD', encodeURIComponent('ü🙂\u200b'), '%252e%252e%252f', 'a'.repeat(3000)];
/** Methods Node's parser accepts (TRACK and FOOBAR it refuses with its own 400; CONNECT it hands to a 'connect' listener). */
export const METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS', 'TRACE', 'PURGE', 'MKCOL', 'PROPFIND', 'LOCK', 'M-SEARCH', 'SEARCH', 'QUERY', 'COPY', 'CONNECT', 'TRACK', 'FOOBAR'];
const FETCH_REFUSED = new Set(['TRACE', 'TRACK', 'CONNECT', 'FOOBAR']);
const NUMBERS = ['1e21', '-1', '9007199254740992', '9007199254740991', '18446744073709551616', '0x10', ' 1', '1 ', '%201', '+1', '01', '1.5', 'NaN', 'Infinity', '', '%ZZ', '%D9%A1', '0', '1001', '99999999999999999999', '1%00'];
const AFTERS = ['garbage', '99999999999999999999-0', '18446744073709551616-0', '0-18446744073709551616', '1-', '-1', '1-1-1', '01-0', '%201-0', '0x1-0', '18446744073709551615-18446744073709551615', '%ZZ', '1-0%00', '1e3-0', '١-0'];
const QUERY_FORMS = (k: string, v: string) => [`${k}=${v}`, `${k}=1&${k}=${v}`, `${k}[a]=${v}`, `${k}[]=${v}`, `${k}[__proto__]=${v}`, `__proto__[${k}]=${v}`, `constructor[prototype][${k}]=${v}`];

const WEBHOOK = '/.well-known/workflow/v1/webhook';
const CONTENT_TYPES = ['application/json', 'application/json; charset=utf-8', 'application/json; charset=latin1', 'application/json; charset=utf-16', 'application/json; charset=bogus', 'text/plain', 'application/x-www-form-urlencoded', 'multipart/form-data; boundary=x', 'application/*+json', ';;;', 'application/json; charset="utf-8"', 'APPLICATION/JSON'];

/** Bodies that fail before a handler sees them: these are the only bodies a live token is sent with. */
function breakers(json: string, over: number): [string, Record<string, string>, Buffer][] {
  const raw = Buffer.from(json);
  return [
    ['gzip-corrupt', { 'content-encoding': 'gzip' }, Buffer.from(`not gzip ${json}`)],
    ['gzip-truncated', { 'content-encoding': 'gzip' }, gzipSync(raw).subarray(0, 14)],
    ['deflate-corrupt', { 'content-encoding': 'deflate' }, Buffer.from(json)],
    ['deflate-truncated', { 'content-encoding': 'deflate' }, deflateSync(raw).subarray(0, 6)],
    ['br-corrupt', { 'content-encoding': 'br' }, Buffer.from([0xff, 0xff, ...raw])],
    ['br-truncated', { 'content-encoding': 'br' }, brotliCompressSync(raw).subarray(0, 3)],
    ['gzip-upper-corrupt', { 'content-encoding': 'GZIP' }, Buffer.from(json)],
    ['encoding-unknown', { 'content-encoding': 'x-secret-codec' }, raw],
    ['encoding-zstd', { 'content-encoding': 'zstd' }, raw],
    ['encoding-double', { 'content-encoding': 'gzip, gzip' }, gzipSync(gzipSync(raw))],
    ['encoding-compress', { 'content-encoding': 'compress' }, raw],
    ['over-limit', {}, Buffer.alloc(over, 'x')],
  ];
}

/** JSON texts for the resume route that can never resume anything, whatever the token. */
function brokenJson(token: string, deep: number): [string, string][] {
  const t = JSON.stringify(token);
  const marked = `{${JSON.stringify(KEY_MARKER)}:${JSON.stringify(PAYLOAD_MARKER)}}`;
  return [
    ['json-unclosed', `{"token":${t},"data":${marked}`],
    ['json-trailing', `{"token":${t},"data":1}}`],
    ['json-single-quotes', `{'token':${t}}`],
    ['json-deep-arrays', `{"token":${t},"data":${'['.repeat(deep)}${']'.repeat(deep)}}`],
    ['json-deep-objects', `{"token":${t},"data":${'{"k":'.repeat(deep)}1${'}'.repeat(deep)}}`],
    ['json-deep-mixed', `{"token":${t},"data":${'[{"a":'.repeat(deep / 2)}0${'}]'.repeat(deep / 2)}}`],
    ['proto-token', `{"__proto__":{"token":${t},"data":1}}`],
    ['constructor-token', `{"constructor":{"prototype":{"token":${t}}},"data":1}`],
    ['token-array', `{"token":[${t}],"data":1}`],
    ['token-object', `{"token":{"value":${t}},"data":1}`],
    ['data-over-limit', `{"token":${t},"data":${JSON.stringify(PAYLOAD_MARKER.repeat(400))}}`],
    ['json-nan', `{"token":${t},"data":NaN}`],
    ['json-bom-garbage', `\ufeff{"token":${t},`],
  ];
}

/** Token-ish values for the resume body: non-strings, over-long, NUL, lone surrogates. */
const ODD_TOKENS = ['42', '-1', '1e400', '[]', '{}', 'null', 'true', '"" ', '""', `"${'t'.repeat(257)}"`, `"${'t'.repeat(100_000)}"`, '"a\\u0000b"', '"\\ud800"', '"\\udfff\\ud800x"', '"\\u202e-rtl"', '"tok-marker-\\u0000"'];

/**
 * Builds the corpus: systematic crosses (every route × every bad escape,
 * every route × every method, the body and query matrices) and then
 * `randomCount` random combinations. `unknownTokens` receives every token
 * string the corpus sends, for the log check.
 */
export function buildCorpus(seed: number, t: Targets, randomCount: number, unknownTokens: Set<string>): HostileCase[] {
  const rand = rng(seed);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)]!;
  const out: HostileCase[] = [];
  // Node refuses to send spaces, controls and non-Latin-1 in a path: percent-encode those (the rest goes raw).
  const add = (c: Omit<HostileCase, 'n'>) => void out.push({ n: out.length, ...c, path: c.path.replace(/[^\u0021-\u007e]/gu, (ch) => encodeURIComponent(ch)) });
  const unknown = () => {
    const tok = `tok-marker-${Math.floor(rand() * 1e9).toString(36)}`;
    unknownTokens.add(tok);
    return tok;
  };
  const over = 80 * 1024; // over the suite's parser limit (maxPayloadBytes 4096 + 64 KiB envelope)
  const ctJson = { 'content-type': 'application/json' };

  /** A path-parameter slot: the value sent and whether it could still name something live. */
  type Slot = { seg: string; live: boolean };
  const mangle = (value: string, live: boolean): Slot => {
    const r = rand();
    if (r < 0.45) {
      const bad = pick(BAD_ESCAPES);
      const seg = r < 0.15 ? `${value}${bad}` : r < 0.3 ? `${bad}${value}` : `${value.slice(0, 3)}${bad}${value.slice(3)}`;
      return { seg, live: false };
    }
    if (r < 0.7) return { seg: `${value}${pick(ODD_SEGMENTS)}`, live: false };
    // Percent-encoding the value itself may decode back to it: still live.
    return { seg: encodeURIComponent(value), live };
  };

  /** Route templates with one parameter slot; `value` is the real value, `live` whether it names something live. */
  type Template = { kind: string; value: string; live: boolean; operator: boolean; path: (seg: string) => string; cancel?: boolean; webhook?: boolean };
  const templates: Template[] = [
    ...t.webhookTokens.map((tok, i) => ({ kind: `webhook-live${i}`, value: tok, live: true })),
    { kind: 'webhook-plain', value: t.plainToken, live: false },
    { kind: 'webhook-unknown', value: 'no-such-token', live: false },
  ].map((r) => ({ ...r, operator: false, webhook: true, path: (seg: string) => `${WEBHOOK}/${seg}` }));
  for (const sub of ['', '/events', '/timeline', '/cancel']) {
    for (const [i, id] of [t.liveRunId, ...t.finishedRunIds, 'wrun_nope', '12345'].entries()) {
      templates.push({ kind: `run${sub || '-info'}-${i}`, value: id, live: id === t.liveRunId, operator: true, cancel: sub === '/cancel', path: (seg) => `/runs/${seg}${sub}` });
    }
  }
  for (const [i, tpl] of ['/admin/queues/api/queues/%s/pause', '/admin/queues/api/queues/%s/retry/failed', '/admin/queues/api/queues/workflows/%s', '/admin/queues/%s'].entries()) {
    templates.push({ kind: `dashboard-${i}`, value: 'workflows', live: false, operator: true, path: (seg) => tpl.replace('%s', seg) });
  }

  /** Adds one request on a template, choosing a body that keeps live targets safe. */
  const addOn = (tpl: Template, slot: Slot, method: string, kind: string) => {
    const path = tpl.path(slot.seg);
    const webhookLive = tpl.webhook === true && slot.live;
    const cancelLive = tpl.cancel === true && slot.live;
    const auth = rand() < 0.85;
    let headers: Record<string, string> = {};
    let body: Buffer | undefined;
    if (webhookLive && !FETCH_REFUSED.has(method)) {
      const [name, h, b] = pick(breakers(`{"${KEY_MARKER}":"${PAYLOAD_MARKER}"}`, over));
      headers = { 'content-type': pick(CONTENT_TYPES), ...h };
      body = b;
      kind += `/${name}`;
    } else if (cancelLive && auth) {
      headers = { 'content-type': pick(['text/plain', 'application/x-www-form-urlencoded', 'multipart/form-data; boundary=x']) };
      body = Buffer.from(`${KEY_MARKER}=${PAYLOAD_MARKER}`);
    } else if (rand() < 0.5) {
      headers = { 'content-type': pick(CONTENT_TYPES) };
      body = Buffer.from(`{"${KEY_MARKER}":"${PAYLOAD_MARKER}"}`);
    }
    // Node's parser answers TRACK and FOOBAR itself (400); CONNECT never reaches Express.
    const byNode = method === 'TRACK' || method === 'FOOBAR' || method === 'CONNECT';
    let expect: number | undefined;
    if (tpl.webhook && !byNode) expect = undecodable(slot.seg) ? 400 : method === 'TRACE' ? 405 : undefined;
    add({ kind, method, path, headers, body, auth, operator: tpl.operator, expect });
  };

  // 1. Every route × every bad escape, on a few methods each.
  for (const tpl of templates) {
    const value = tpl.value;
    for (const bad of BAD_ESCAPES) {
      for (let k = 0; k < 3; k++) {
        const seg = k === 0 ? `${value}${bad}` : k === 1 ? `${bad}${value}` : `${value.slice(0, 2)}${bad}${value.slice(2)}`;
        addOn(tpl, { seg, live: false }, pick(METHODS), `${tpl.kind}:escape`);
      }
    }
  }
  // 2. Every route × every method, with the real value (live ones stay safe through addOn).
  for (const tpl of templates) {
    for (const method of METHODS) addOn(tpl, { seg: encodeURIComponent(tpl.value), live: tpl.live }, method, `${tpl.kind}:method`);
  }
  // 3. Fixed routes (no parameter) × every method.
  for (const path of ['/hooks/resume', '/hooks/resume-by-tag', '/hooks/resume-by-tag/', '/runs', '/inspector', '/admin/queues', '/admin/queues/', '/admin/queues/api/queues', `${WEBHOOK}/`, `${WEBHOOK}`, `//${WEBHOOK.slice(1)}/x`, `/%2e%2e${WEBHOOK}/x`, `${WEBHOOK}/a/b`, '/runs/', '/runs//events', '/%ZZ', '/runs%ZZ', '/hooks/resume%00', '/hooks/%2e%2e/runs', '/hooks/resume/..%2f..%2fruns']) {
    for (const method of METHODS) {
      const small = rand() < 0.5 ? Buffer.from(`{"token":"${unknown()}","data":{"${KEY_MARKER}":1}}`) : undefined;
      add({ kind: 'fixed', method, path, headers: small ? ctJson : {}, body: small, auth: rand() < 0.85, operator: /^\/(runs|inspector|admin|hooks\/resume-by-tag)/.test(path) });
    }
  }
  // 4. Resume route body matrix: live tokens only inside breakers or broken JSON.
  const liveTokens = [t.plainToken, ...t.webhookTokens];
  for (const token of [...liveTokens, 'no-such-token']) {
    for (const [name, text] of brokenJson(token, 10_000)) {
      add({ kind: `resume:${name}`, method: 'POST', path: '/hooks/resume', headers: { ...ctJson }, body: Buffer.from(text), auth: false, operator: false });
    }
    for (const [name, h, b] of breakers(`{"token":${JSON.stringify(token)},"data":{"${KEY_MARKER}":"${PAYLOAD_MARKER}"}}`, over)) {
      add({ kind: `resume:${name}`, method: 'POST', path: '/hooks/resume', headers: { ...ctJson, ...h }, body: b, auth: false, operator: false });
    }
    for (const ct of ['text/plain', 'application/x-www-form-urlencoded', 'application/json; charset=latin1', 'application/*+json', 'application/json; charset=bogus']) {
      add({ kind: 'resume:content-type', method: 'POST', path: '/hooks/resume', headers: { 'content-type': ct }, body: Buffer.from(`{"token":${JSON.stringify(token)},"data":1}`), auth: false, operator: false });
    }
  }
  for (const tok of ODD_TOKENS) {
    add({ kind: 'resume:odd-token', method: 'POST', path: '/hooks/resume', headers: { ...ctJson }, body: Buffer.from(`{"token":${tok},"data":{"${KEY_MARKER}":"${PAYLOAD_MARKER}"}}`), auth: false, operator: false });
  }
  add({ kind: 'resume:invalid-utf8', method: 'POST', path: '/hooks/resume', headers: { ...ctJson }, body: Buffer.from([0x7b, 0x22, 0xff, 0xfe, 0x22, 0x7d]), auth: false, operator: false });
  // 4b. The fan-out route (operator): bodies that can never resume anything (no tag the suite's hooks have is valid here).
  const marked = `{"${KEY_MARKER}":"${PAYLOAD_MARKER}"}`;
  const tagBodies = [
    ...ODD_TOKENS.map((tag) => `{"tag":${tag},"data":${marked}}`),
    `{"data":${marked}}`,
    `{"tag":"ok-tag","data":${marked},"maxHooks":"10"}`,
    `{"tag":"ok-tag","data":${marked},"maxHooks":0}`,
    `{"tag":"ok-tag","data":${marked},"maxHooks":1e9}`,
    `{"tag":"ok-tag","data":${marked},"maxHooks":1.5}`,
    `{"tag":"ok-tag","data":${'['.repeat(10_000)}${']'.repeat(10_000)}}`,
    `{"tag":"${'t'.repeat(129)}","data":1}`,
    `[{"tag":"ok-tag"}]`,
    '"ok-tag"',
    `{"tag":"ok-tag","data":${marked}`,
  ];
  for (const text of tagBodies) {
    add({ kind: 'tag:body', method: 'POST', path: '/hooks/resume-by-tag', headers: { ...ctJson }, body: Buffer.from(text), auth: rand() < 0.85, operator: true });
  }
  for (const ct of ['text/plain', 'application/x-www-form-urlencoded', 'multipart/form-data; boundary=x']) {
    add({ kind: 'tag:content-type', method: 'POST', path: '/hooks/resume-by-tag', headers: { 'content-type': ct }, body: Buffer.from(`tag=ok-tag&data=${PAYLOAD_MARKER}`), auth: true, operator: true });
  }
  // 5. Query matrices of the run routes and the inspector.
  for (const key of ['cursor', 'limit', 'status', 'workflowName']) {
    for (const v of [...NUMBERS, 'x'.repeat(300), '%E0%A4', 'a%20b', `${KEY_MARKER}`]) {
      for (const q of QUERY_FORMS(key, v)) add({ kind: `query:/runs:${key}`, method: pick(['GET', 'GET', 'HEAD']), path: `/runs?${q}`, headers: {}, auth: true, operator: true });
    }
  }
  for (const id of [t.liveRunId, ...t.finishedRunIds]) {
    for (const [key, values] of [['after', AFTERS], ['limit', NUMBERS]] as const) {
      for (const v of values) for (const q of QUERY_FORMS(key, v).slice(0, 3)) add({ kind: `query:events:${key}`, method: 'GET', path: `/runs/${id}/events?${q}`, headers: {}, auth: true, operator: true });
    }
  }
  for (const q of ['run=%ZZ', 'run=../../', `run=${'x'.repeat(5000)}`, 'run[]=1', 'a=%']) add({ kind: 'query:inspector', method: 'GET', path: `/inspector?${q}`, headers: {}, auth: true, operator: true });
  // 6. Random combinations.
  for (const end = out.length + randomCount; out.length < end; ) {
    const tpl = pick(templates);
    addOn(tpl, mangle(tpl.value, tpl.live), pick(METHODS), `${tpl.kind}:random`);
  }
  for (const tok of liveTokens) unknownTokens.add(tok);
  return out;
}
