/**
 * `runs show`: a run's summary and its timeline as text. The timeline comes
 * from the same builder as the run inspector (steps paired into attempts with
 * durations, hooks with payload counts, sleeps with their resume time, patch
 * markers).
 * Hook tokens and payloads are never printed.
 */
import type { TimelineItem } from '../inspect/timeline.js';
import type { RunInfo } from '../runtime/run.js';
import { toRunView, type RunView } from '../inspect/run-view.js';
import { formatDuration, formatOffset, formatTime, preview, table } from './format.js';

/** Duration column of `runs list`: total time of a finished run, time so far of a live one. */
export function runDuration(info: RunInfo, now = Date.now()): string {
  if (info.completedAt) return formatDuration(info.completedAt.getTime() - info.createdAt.getTime());
  if (info.status === 'pending' || info.status === 'running') return `${formatDuration(now - info.createdAt.getTime())} so far`;
  return '-';
}

/** Timeline items without hook tokens (a token is a capability: only `hooks show` prints one). */
export function withoutTokens(items: TimelineItem[]): TimelineItem[] {
  return items.map((it) => {
    if (it.kind !== 'hook' || it.token === undefined) return it;
    const copy = { ...it };
    delete copy.token;
    return copy;
  });
}

/** The summary block of `runs show`. */
export function renderRunSummary(info: RunInfo): string {
  const rows: [string, string][] = [
    ['Run', info.runId],
    ['Workflow', `${info.workflowName} (version ${info.version})`],
    ['Status', info.waitingFor ? `${info.status} — ${info.waitingFor}` : info.status],
    ['Created', formatTime(info.createdAt)],
  ];
  if (info.startedAt) rows.push(['Started', formatTime(info.startedAt)]);
  if (info.completedAt) {
    rows.push(['Ended', `${formatTime(info.completedAt)} (after ${formatDuration(info.completedAt.getTime() - info.createdAt.getTime())})`]);
  }
  if (info.status === 'completed') rows.push(['Output', preview(info.output)]);
  if (info.error) rows.push(['Error', `${info.error.name ? `${info.error.name}: ` : ''}${info.error.message}`]);
  const width = Math.max(...rows.map(([k]) => k.length));
  return rows.map(([k, v]) => `${k.padEnd(width)}  ${v}`).join('\n');
}

const ms = (iso: string | undefined) => (iso === undefined ? undefined : Date.parse(iso));
const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? '' : 's'}`;

/**
 * The timeline as an aligned table. `AT` is the offset from `originMs` (the
 * run's creation); step attempts follow their step on indented rows.
 */
export function renderTimeline(items: TimelineItem[], originMs: number): string {
  const at = (iso: string | undefined) => {
    const t = ms(iso);
    return t === undefined ? '' : formatOffset(t, originMs);
  };
  const rows: string[][] = [];
  for (const it of items) {
    switch (it.kind) {
      case 'run':
        rows.push([at(it.at), 'run', '', it.event, it.error ? `error: ${it.error}` : '']);
        break;
      case 'step': {
        const details = [plural(it.attempts, 'attempt')];
        if (it.durationMs !== undefined) details.unshift(`took ${formatDuration(it.durationMs)}`);
        rows.push([at(it.createdAt), 'step', it.name, it.status, details.join(', ')]);
        if (it.tries.length > 1 || it.tries.some((t) => t.error !== undefined)) {
          for (const t of it.tries) {
            const d: string[] = [];
            if (t.durationMs !== undefined) d.push(formatDuration(t.durationMs));
            if (t.error !== undefined) d.push(`error: ${t.error}`);
            if (t.retryAt !== undefined) d.push(`retry at ${at(t.retryAt)}`);
            rows.push([at(t.startedAt), '', `  attempt ${t.attempt}`, t.outcome, d.join(', ')]);
          }
        }
        break;
      }
      case 'hook': {
        const d = [plural(it.payloads, 'payload')];
        if (it.lastPayloadAt) d.push(`last at ${at(it.lastPayloadAt)}`);
        if (it.endedAt) d.push(`ended at ${at(it.endedAt)}`);
        if (it.timeoutAt && it.status === 'waiting') d.push(`times out at ${at(it.timeoutAt)}`);
        if (it.tags) d.push(`tags ${it.tags.join(', ')}`);
        rows.push([at(it.createdAt), it.isWebhook ? 'webhook' : 'hook', it.id, it.status, d.join(', ')]);
        break;
      }
      case 'sleep': {
        const d: string[] = [];
        const created = ms(it.createdAt);
        const resume = ms(it.resumeAt);
        if (created !== undefined && resume !== undefined) d.push(`for ${formatDuration(resume - created)}`);
        if (it.resumeAt) d.push(`until ${at(it.resumeAt)}`);
        if (it.completedAt) d.push(`woke at ${at(it.completedAt)}`);
        rows.push([at(it.createdAt), 'sleep', it.id, it.status, d.join(', ')]);
        break;
      }
      case 'patch':
        rows.push([at(it.createdAt), 'patch', it.name, it.status, it.deprecated ? 'recorded by deprecatePatch()' : '']);
        break;
    }
  }
  return table(['AT', 'KIND', 'NAME', 'STATUS', 'DETAILS'], rows);
}

export { toRunView, type RunView };
