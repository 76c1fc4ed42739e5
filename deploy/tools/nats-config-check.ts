import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, posix } from 'node:path';
import { containersOf, describe, isRecord, podTemplateOf, type K8sObject } from './k8s-object.js';
import { splitImage } from './kustomize.js';
import type { Problem } from './schema-check.js';

/**
 * nats-server's configuration from its ConfigMap, tested by nats-server itself (`nats-server -t`): unknown
 * fields, syntax, and `$VARIABLE` references the container's environment does not provide (each variable
 * the manifest sets stands in with a placeholder value; nothing else is in the environment).
 */
export function checkNatsConfigs(objects: K8sObject[], natsServer = 'nats-server'): Problem[] {
  const problems: Problem[] = [];
  for (const owner of objects) {
    const template = podTemplateOf(owner);
    if (!template) continue;
    const volumes = (template.spec.volumes ?? []) as Array<{ name: string; configMap?: { name: string } }>;
    for (const container of containersOf(template.spec)) {
      if (!container.image || !/(^|\/)nats$/.test(splitImage(container.image).name)) continue;
      const args = (container as { args?: string[] }).args ?? [];
      const flag = args.findIndex((a) => a === '--config' || a === '-c');
      const path = flag >= 0 ? args[flag + 1] : undefined;
      if (!path) continue;
      const report = (message: string) => problems.push({ object: describe(owner), message: `container ${container.name}: ${message}` });
      const mount = (container.volumeMounts ?? []).find((m) => path.startsWith(m.mountPath.replace(/\/?$/, '/')));
      const volume = mount && volumes.find((v) => v.name === mount.name);
      const configMap =
        volume?.configMap &&
        objects.find((o) => o.kind === 'ConfigMap' && o.metadata.name === volume.configMap?.name && o.metadata.namespace === owner.metadata.namespace);
      const key = mount ? posix.relative(mount.mountPath, path) : '';
      const text = configMap && isRecord(configMap.data) ? configMap.data[key] : undefined;
      if (typeof text !== 'string') {
        report(`its --config ${path} is not a key of a mounted ConfigMap`);
        continue;
      }
      const env: Record<string, string> = { PATH: process.env.PATH ?? '/usr/bin:/bin' };
      for (const variable of container.env ?? []) env[variable.name] = variable.value ?? 'placeholder-from-valueFrom';
      const dir = mkdtempSync(join(tmpdir(), 'nats-config-'));
      try {
        const file = join(dir, 'nats.conf');
        writeFileSync(file, text);
        const result = spawnSync(natsServer, ['-t', '-c', file], { env, encoding: 'utf8', timeout: 10_000 });
        if (result.error) {
          report(`cannot run ${natsServer} to test the configuration (${result.error.message})`);
        } else if (result.status !== 0) {
          const detail = `${result.stdout}${result.stderr}`.replaceAll(file, `ConfigMap ${configMap?.metadata.name}/${key}`).trim();
          report(`nats-server rejects its configuration: ${detail}`);
        }
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    }
  }
  return problems;
}
