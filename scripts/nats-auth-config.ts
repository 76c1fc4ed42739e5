// make nats-config: writes the nats-server authorization generated from packages/contracts'
// nats-permissions.ts into the deployments' NATS configuration (deploy/tools/nats-auth.ts lists the files).
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { NATS_AUTH_FILES, writeNatsAuthFiles } from '../deploy/tools/nats-auth.js';

const repoRoot = resolve(fileURLToPath(new URL('..', import.meta.url)));
const written = writeNatsAuthFiles(repoRoot);
for (const { path } of NATS_AUTH_FILES) console.log(`${written.includes(path) ? 'updated' : 'up to date'}  ${path}`);
