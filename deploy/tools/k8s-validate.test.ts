import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { readServiceEnv, type ServiceEnv } from './config-env.js';
import { renderKustomization } from './kustomize.js';
import { applyJsonPatch, strategicMerge } from './patches.js';
import { loadServiceEnv, validateOverlay } from './validate.js';
import { checkNatsConfigs } from './nats-config-check.js';

const here = fileURLToPath(new URL('.', import.meta.url));
const repoRoot = join(here, '..', '..');

/** What a recorder config.ts reads, as the env check sees it (a small stand-in for the real schema). */
function recorderEnv(): Map<string, ServiceEnv> {
  const variables = new Set(['NATS_URL', 'NATS_TOKEN', 'RECORDER_HOST', 'SHUTDOWN_TIMEOUT_SECONDS', 'OPS_PORT']);
  const defaults = new Map<string, unknown>([['SHUTDOWN_TIMEOUT_SECONDS', 30]]);
  return new Map([['recorder', { service: 'recorder', file: 'services/recorder/src/config.ts', variables, defaults }]]);
}

test('the broken fixture is rejected, each defect with a message that names it', () => {
  const report = validateOverlay(join(here, 'fixtures', 'broken'), recorderEnv());
  const messages = report.problems.map((p) => `${p.object}: ${p.message}`);
  const expect = (pattern: RegExp, what: string) =>
    assert.ok(
      messages.some((m) => pattern.test(m)),
      `expected a problem about ${what}; got:\n  ${messages.join('\n  ')}`,
    );
  expect(/Deployment\/broken\/recorder: schema: \/spec\/replicas must be integer/, 'the replicas type');
  expect(/readinesProbe: unknown field "readinesProbe" \(did you mean "readinessProbe"\?\)/, 'the misspelt probe');
  expect(/spec\.selector .* does not match the pod template's labels/, 'the selector');
  expect(/sets RECORDER_HOSTNAME, which services\/recorder\/src\/config\.ts does not read/, 'the unknown environment variable');
  expect(/NATS_TOKEN comes from Secret missing-secret, which does not exist/, 'the missing secret');
  expect(/terminationGracePeriodSeconds 10 is not longer than SHUTDOWN_TIMEOUT_SECONDS 90/, 'the grace period');
  expect(/Service\/broken\/recorder: port metrics targets metrics\/TCP, which no selected container exposes/, 'the service port');
  expect(/has no readiness probe/, 'the missing readiness probe');
});

test('the committed overlays render and pass every check', () => {
  const serviceEnv = loadServiceEnv();
  for (const overlay of ['dev', 'production']) {
    const report = validateOverlay(join(repoRoot, 'deploy', 'k8s', 'overlays', overlay), serviceEnv);
    assert.deepEqual(report.problems, [], `${overlay}: ${report.problems.map((p) => `${p.object}: ${p.message}`).join('\n')}`);
    const kinds = new Set(report.objects.map((o) => o.kind));
    for (const kind of ['StatefulSet', 'Deployment', 'Service', 'Ingress', 'HorizontalPodAutoscaler', 'PodDisruptionBudget', 'NetworkPolicy', 'Secret']) {
      assert.ok(kinds.has(kind), `${overlay} renders a ${kind}`);
    }
  }
});

test("the load generator's Job renders, passes every check and shares the publishers out by completion index", () => {
  const report = validateOverlay(join(repoRoot, 'deploy', 'k8s', 'loadtest'), loadServiceEnv());
  assert.deepEqual(report.problems, [], report.problems.map((p) => `${p.object}: ${p.message}`).join('\n'));
  const job = report.objects.find((o) => o.kind === 'Job') as unknown as {
    spec: {
      completionMode: string;
      completions: number;
      parallelism: number;
      template: { spec: { containers: Array<{ env: Array<{ name: string; value?: string }> }> } };
    };
  };
  assert.equal(job.spec.completionMode, 'Indexed');
  const env = new Map(job.spec.template.spec.containers[0]?.env.map((e) => [e.name, e.value]));
  assert.equal(Number(env.get('LOAD_SHARD_COUNT')), job.spec.completions, 'one share per pod');
  assert.equal(job.spec.parallelism, job.spec.completions);
});

test('overlays set namespace, images, replicas and template labels like kustomize', () => {
  const { objects, notes } = renderKustomization(join(repoRoot, 'deploy', 'k8s', 'overlays', 'production'));
  const media = objects.find((o) => o.kind === 'Deployment' && o.metadata.name === 'media') as unknown as {
    metadata: { namespace: string; labels: Record<string, string> };
    spec: { template: { metadata: { labels: Record<string, string> }; spec: { containers: Array<{ image: string }> } } };
  };
  assert.equal(media.metadata.namespace, 'recstack');
  assert.equal(media.spec.template.spec.containers[0]?.image, 'registry.example.com/recstack/media:0.1.0');
  assert.equal(media.spec.template.metadata.labels['app.kubernetes.io/part-of'], 'recstack');
  assert.equal(objects.find((o) => o.kind === 'Namespace')?.metadata.namespace, undefined, 'a Namespace gets no namespace');
  // STORAGE=nats in production: no shared recordings volume, a per-pod working folder, 3 bucket replicas everywhere
  assert.equal(objects.filter((o) => o.kind === 'PersistentVolumeClaim').length, 0, 'no shared recordings volume');
  type PodSpec = {
    containers: Array<{ name: string; env?: Array<{ name: string; value?: string }>; volumeMounts?: Array<{ mountPath: string }> }>;
    volumes?: Array<Record<string, unknown> & { name: string }>;
  };
  const podOf = (name: string) =>
    (objects.find((o) => o.kind === 'Deployment' && o.metadata.name === name)?.spec as { template: { spec: PodSpec } }).template.spec;
  const envOf = (name: string) => Object.fromEntries((podOf(name).containers[0]?.env ?? []).map((e) => [e.name, e.value]));
  for (const service of ['recorder', 'signaling', 'media']) assert.equal(envOf(service).NATS_KV_REPLICAS, '3', `${service}: NATS_KV_REPLICAS`);
  assert.equal(envOf('recorder').STORAGE, 'nats');
  assert.equal(envOf('signaling').STORAGE, 'nats');
  const recorderVolume = podOf('recorder').volumes?.find((v) => v.name === 'recordings');
  assert.ok(recorderVolume && 'emptyDir' in recorderVolume && !('persistentVolumeClaim' in recorderVolume), JSON.stringify(recorderVolume));
  assert.equal(
    podOf('signaling').volumes?.some((v) => v.name === 'recordings'),
    false,
  );
  assert.equal(
    podOf('signaling').containers[0]?.volumeMounts?.some((m) => m.mountPath === '/recordings'),
    false,
  );
  assert.ok(
    notes.some((n) => n.includes('secrets.env.example')),
    'the example secrets file stands in, and says so',
  );
  const dev = renderKustomization(join(repoRoot, 'deploy', 'k8s', 'overlays', 'dev')).objects;
  assert.equal((dev.find((o) => o.metadata.name === 'recorder' && o.kind === 'Deployment')?.spec as { replicas: number }).replicas, 1);
  assert.equal(dev.filter((o) => o.kind === 'PersistentVolumeClaim').length, 1, 'dev: STORAGE=local on the shared recordings volume');
});

test('a kustomization field outside the supported subset is an error, not ignored', () => {
  const dir = mkdtempSync(join(tmpdir(), 'k8s-validate-'));
  try {
    writeFileSync(join(dir, 'kustomization.yaml'), 'resources: []\nnamePrefix: x-\n');
    assert.throws(() => renderKustomization(dir), /"namePrefix" is not supported/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a strategic merge patch with $patch: delete removes the object; a patch that matches nothing is an error', () => {
  const dir = mkdtempSync(join(tmpdir(), 'k8s-validate-'));
  try {
    writeFileSync(
      join(dir, 'objects.yaml'),
      'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\n---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: b}\n',
    );
    const patch = (name: string) =>
      `patches:\n  - patch: |-\n      $patch: delete\n      apiVersion: v1\n      kind: ConfigMap\n      metadata: {name: ${name}}\n`;
    writeFileSync(join(dir, 'kustomization.yaml'), `resources: [objects.yaml]\n${patch('a')}`);
    assert.deepEqual(
      renderKustomization(dir).objects.map((o) => o.metadata.name),
      ['b'],
    );
    writeFileSync(join(dir, 'kustomization.yaml'), `resources: [objects.yaml]\n${patch('c')}`);
    assert.throws(() => renderKustomization(dir), /matches no object/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('strategic merge: lists merge by their keys, $patch: delete and null remove', () => {
  const base = {
    spec: {
      containers: [{ name: 'a', image: 'a:1', env: [{ name: 'X', value: '1' }], volumeMounts: [{ name: 'v', mountPath: '/v' }] }],
      volumes: [{ name: 'v', persistentVolumeClaim: { claimName: 'c' } }],
      args: ['--one'],
    },
  };
  const patched = strategicMerge(base, {
    spec: {
      containers: [
        {
          name: 'a',
          env: [
            { name: 'Y', value: '2' },
            { name: 'X', value: '3' },
          ],
          volumeMounts: [{ mountPath: '/v', $patch: 'delete' }],
        },
      ],
      volumes: [{ name: 'v', persistentVolumeClaim: null, emptyDir: {} }],
      args: ['--two'],
    },
  });
  assert.deepEqual(patched, {
    spec: {
      containers: [
        {
          name: 'a',
          image: 'a:1',
          env: [
            { name: 'X', value: '3' },
            { name: 'Y', value: '2' },
          ],
          volumeMounts: [],
        },
      ],
      volumes: [{ name: 'v', emptyDir: {} }],
      args: ['--two'],
    },
  });
  assert.throws(() => strategicMerge(base, { $retainKeys: [] }), /not supported/);
});

test('JSON 6902 patch: add, replace, remove, test', () => {
  const doc = { a: [1, 2], b: { c: 'x' } };
  assert.deepEqual(
    applyJsonPatch(doc, [
      { op: 'add', path: '/a/-', value: 3 },
      { op: 'replace', path: '/b/c', value: 'y' },
      { op: 'remove', path: '/a/0' },
      { op: 'test', path: '/a/0', value: 2 },
    ]),
    { a: [2, 3], b: { c: 'y' } },
  );
  assert.deepEqual(doc, { a: [1, 2], b: { c: 'x' } }, 'the input is not modified');
  assert.throws(() => applyJsonPatch(doc, [{ op: 'replace', path: '/missing', value: 1 }]), /does not exist/);
});

test("each service's exported env schema gives its variables and the defaults the checks use", () => {
  const media = readServiceEnv('media');
  assert.ok(media, 'media exports its schema');
  for (const name of ['NATS_URL', 'NATS_PASSWORD', 'MEDIA_UDP_PORT_MIN', 'MEDIA_UDP_PORT_MAX', 'MAX_SESSIONS']) assert.ok(media.variables.has(name), name);
  // the checks read media's own defaults, not a copy of them
  assert.equal(media.defaults.get('MEDIA_UDP_PORT_MAX'), 40200);
  assert.equal(media.defaults.get('MEDIA_UDP_PORT_MIN'), 40000);
  assert.equal(media.defaults.has('MEDIA_ID'), false, 'an optional variable has no default');
  assert.ok(readServiceEnv('recorder')?.variables.has('RECORDINGS_DIR'));
  assert.ok(readServiceEnv('signaling')?.variables.has('HTTP_PORT'));
  assert.equal(readServiceEnv('nonexistent'), undefined);
});

test('docker-compose.yml sets only variables the services read', async () => {
  const { parse } = await import('yaml');
  const { readFileSync } = await import('node:fs');
  const file = parse(readFileSync(join(repoRoot, 'docker-compose.yml'), 'utf8'), { merge: true }) as {
    services: Record<string, { environment?: Record<string, unknown> }>;
  };
  const serviceEnv = loadServiceEnv();
  for (const service of ['signaling', 'media', 'recorder']) {
    const reads = serviceEnv.get(service)?.variables;
    assert.ok(reads, `services/${service}/src/config.ts exists`);
    const set = Object.keys(file.services[service]?.environment ?? {});
    assert.ok(set.length > 0, `${service} has an environment in docker-compose.yml`);
    const unread = set.filter((name) => !reads.has(name));
    assert.deepEqual(unread, [], `${service}: docker-compose.yml sets variables config.ts does not read`);
  }
});

test('nats-server tests the NATS ConfigMap: unknown fields and variables the container does not set are rejected', () => {
  const objects = renderKustomization(join(repoRoot, 'deploy', 'k8s', 'overlays', 'dev')).objects;
  assert.deepEqual(checkNatsConfigs(objects), [], 'the committed configuration passes');
  const broken = structuredClone(objects);
  const configMap = broken.find((o) => o.kind === 'ConfigMap' && o.metadata.name === 'nats-config') as unknown as { data: Record<string, string> };
  configMap.data['nats.conf'] = `${configMap.data['nats.conf']}\nmax_payload_typo: 1\nsystem_account: $NOT_SET_ANYWHERE\n`;
  const messages = checkNatsConfigs(broken)
    .map((p) => p.message)
    .join('\n');
  assert.match(messages, /nats-server rejects its configuration/);
  assert.match(messages, /unknown field "max_payload_typo"|NOT_SET_ANYWHERE/);
});
