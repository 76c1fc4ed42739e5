// The images' HEALTHCHECK: GET /healthz on the port the service was configured with.
//   node healthcheck.mjs <PORT_VARIABLE> <default port>
// Exit 0 when it answers 200 within 3 s, 1 otherwise (Docker's contract for health commands).
const [variable, fallback] = process.argv.slice(2);
if (!variable || !fallback) {
  console.error('usage: node healthcheck.mjs <PORT_VARIABLE> <default port>');
  process.exit(2);
}
const port = process.env[variable] || fallback;
try {
  const res = await fetch(`http://127.0.0.1:${port}/healthz`, { signal: AbortSignal.timeout(3000) });
  if (res.status !== 200) {
    console.error(`healthz answered ${res.status}`);
    process.exit(1);
  }
} catch (err) {
  console.error(`healthz unreachable on port ${port}: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
}
