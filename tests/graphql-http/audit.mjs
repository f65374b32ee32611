// Runs the public graphql-http audit suite against a running Tether.
// Usage: node tests/graphql-http/audit.mjs [url]   (default http://127.0.0.1:8080/graphql)
// Exits 1 when any MUST fails; prints every SHOULD/MAY warning.
import { auditServer } from 'graphql-http';

const url = process.argv[2] ?? 'http://127.0.0.1:8080/graphql';
const results = await auditServer({ url });
let failedMust = 0;
const counts = { ok: 0, warn: 0, error: 0 };
for (const r of results) {
  counts[r.status] += 1;
  if (r.status === 'ok') continue;
  if (r.status === 'error') failedMust += 1;
  const body = r.response ? ` (HTTP ${r.response.status})` : '';
  console.log(`${r.status.toUpperCase()} ${r.id} ${r.name}: ${r.reason}${body}`);
}
console.log(`\n${results.length} audits: ${counts.ok} ok, ${counts.warn} warnings, ${counts.error} MUST failures`);
process.exit(failedMust ? 1 : 0);
