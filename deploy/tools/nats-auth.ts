import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { NATS_SERVICES, natsAuthorizationConfig, natsPasswordVariable, type NatsService } from '@recstack/contracts';

/**
 * The nats-server authorization of the deployments is generated from packages/contracts' nats-permissions.ts
 * into the files below, between two marker lines (`make nats-config` writes them, a test fails when a
 * committed copy differs). Passwords are `$NATS_<SERVICE>_PASSWORD` references nats-server reads from its
 * environment.
 */
export const NATS_AUTH_FILES = [
  { path: 'deploy/nats/nats.conf', indent: '' },
  { path: 'deploy/k8s/base/nats/configmap.yaml', indent: '    ' },
  // the production overlay replaces the whole nats.conf (JetStream sizes)
  { path: 'deploy/k8s/overlays/production/nats-storage.yaml', indent: '    ' },
] as const;

const BEGIN = '# --- generated from packages/contracts/src/nats-permissions.ts by `make nats-config`; do not edit ---';
const END = '# --- end of generated authorization ---';

export function deploymentAuthorization(): string {
  const passwords = Object.fromEntries(NATS_SERVICES.map((s) => [s, { variable: natsPasswordVariable(s) }])) as Record<NatsService, { variable: string }>;
  return natsAuthorizationConfig(passwords);
}

/** The file's text with its generated region replaced; throws when the markers are missing. */
export function withGeneratedAuthorization(text: string, indent: string): string {
  const lines = text.split('\n');
  const begin = lines.findIndex((l) => l.trim() === BEGIN);
  const end = lines.findIndex((l, i) => i > begin && l.trim() === END);
  if (begin < 0 || end < 0) throw new Error('the generated authorization markers are missing');
  const block = [BEGIN, ...deploymentAuthorization().split('\n'), END].map((l) => `${indent}${l}`);
  return [...lines.slice(0, begin), ...block, ...lines.slice(end + 1)].join('\n');
}

/** Files whose generated region differs from what nats-permissions.ts says. */
export function staleNatsAuthFiles(repoRoot: string): string[] {
  return NATS_AUTH_FILES.filter(({ path, indent }) => {
    const text = readFileSync(join(repoRoot, path), 'utf8');
    return withGeneratedAuthorization(text, indent) !== text;
  }).map((f) => f.path);
}

export function writeNatsAuthFiles(repoRoot: string): string[] {
  const written: string[] = [];
  for (const { path, indent } of NATS_AUTH_FILES) {
    const file = join(repoRoot, path);
    const text = readFileSync(file, 'utf8');
    const next = withGeneratedAuthorization(text, indent);
    if (next !== text) {
      writeFileSync(file, next);
      written.push(path);
    }
  }
  return written;
}
