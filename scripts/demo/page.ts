/** The demo's home page: place orders, approve or reject them, follow links to the inspector and dashboard. */

/** Escapes text for HTML. */
export function esc(s: unknown): string {
  return String(s).replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}

export interface OrderRow {
  orderId: string;
  runId: string;
  item: string;
  amount: number;
  status: string;
  outcome: string;
  createdAt: Date;
}

/** Renders the page. */
export function renderHome(p: { orders: OrderRow[]; inspectorPath: string; dashboardPath: string }): string {
  const rows = p.orders
    .map(
      (o) => `<tr>
  <td><code>${esc(o.orderId)}</code></td><td>${esc(o.item)}</td><td>${esc(o.amount)}</td>
  <td><span class="st st-${esc(o.status)}">${esc(o.status)}</span> ${esc(o.outcome)}</td>
  <td>${o.status === 'running' ? `<button data-order="${esc(o.orderId)}" data-approved="true">Approve</button> <button data-order="${esc(o.orderId)}" data-approved="false">Reject</button>` : ''}
      <a href="${esc(p.inspectorPath)}?run=${encodeURIComponent(o.runId)}">inspect</a></td>
</tr>`,
    )
    .join('\n');
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>workflow-redis demo</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>
 body{font:15px/1.5 system-ui,sans-serif;max-width:960px;margin:2rem auto;padding:0 1rem;color:#1d2330}
 h1{margin-bottom:.2rem} .sub{color:#5b6475;margin-top:0}
 table{border-collapse:collapse;width:100%;margin-top:1rem} td,th{border-bottom:1px solid #e3e6ec;padding:.45rem;text-align:left}
 form{display:flex;gap:.5rem;align-items:end;flex-wrap:wrap;background:#f5f7fa;padding:1rem;border-radius:8px}
 label{display:flex;flex-direction:column;font-size:13px;color:#5b6475}
 input{padding:.35rem;font:inherit} button{padding:.35rem .8rem;font:inherit;cursor:pointer}
 .st{padding:.1rem .45rem;border-radius:4px;font-size:13px;background:#eef}
 .st-completed{background:#dff5e3}.st-failed{background:#fde2e2}.st-cancelled{background:#eee}.st-running{background:#fff4d6}
 nav a{margin-right:1rem}
</style></head><body>
<h1>Order approvals</h1>
<p class="sub">A durable workflow on Redis: each order reserves stock, waits for a human approval (or a deadline), then charges and ships.</p>
<nav><a href="${esc(p.inspectorPath)}">Run inspector</a><a href="${esc(p.dashboardPath)}">BullMQ dashboard</a></nav>
<form id="order"><label>Item<input name="item" value="Espresso machine" required></label>
<label>Amount<input name="amount" type="number" min="1" value="249" required></label>
<button type="submit">Place order</button></form>
<table><thead><tr><th>Order</th><th>Item</th><th>Amount</th><th>Status</th><th></th></tr></thead>
<tbody>${rows || '<tr><td colspan="5">No orders yet.</td></tr>'}</tbody></table>
<script>
document.getElementById('order').addEventListener('submit', async (e) => {
  e.preventDefault();
  const f = new FormData(e.target);
  const r = await fetch('/orders', { method: 'POST', headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ item: f.get('item'), amount: Number(f.get('amount')) }) });
  if (!r.ok) alert(await r.text());
  setTimeout(() => location.reload(), 300);
});
document.querySelectorAll('button[data-order]').forEach((b) => b.addEventListener('click', async () => {
  const r = await fetch('/orders/' + encodeURIComponent(b.dataset.order) + '/decision', { method: 'POST',
    headers: { 'content-type': 'application/json' }, body: JSON.stringify({ approved: b.dataset.approved === 'true', comment: 'from the demo page' }) });
  if (!r.ok) alert(await r.text());
  setTimeout(() => location.reload(), 500);
}));
</script>
</body></html>`;
}
