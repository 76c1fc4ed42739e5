import { resolve } from 'node:path';
import { readServiceEnv, type ServiceEnv } from './config-env.js';
import { crossCheck } from './cross-checks.js';
import { containersOf, podTemplateOf, type K8sObject } from './k8s-object.js';
import { renderKustomization } from './kustomize.js';
import { checkNatsConfigs } from './nats-config-check.js';
import { checkSchemas, type Problem } from './schema-check.js';

export const SERVICES = ['signaling', 'media', 'recorder'] as const;

export interface OverlayReport {
  dir: string;
  objects: K8sObject[];
  notes: string[];
  problems: Problem[];
}

/** The environment variables each service's config.ts reads (its exported schema), by container name (= service name). */
export function loadServiceEnv(): Map<string, ServiceEnv> {
  const map = new Map<string, ServiceEnv>();
  for (const service of SERVICES) {
    const env = readServiceEnv(service);
    if (env) map.set(service, env);
  }
  return map;
}

/** Renders one kustomization and runs every check on it. A rendering error is reported as a problem. */
export function validateOverlay(dir: string, serviceEnv: Map<string, ServiceEnv>): OverlayReport {
  let rendered;
  try {
    rendered = renderKustomization(resolve(dir));
  } catch (err) {
    return { dir, objects: [], notes: [], problems: [{ object: '(kustomization)', message: `cannot render: ${(err as Error).message}` }] };
  }
  const problems = [...checkSchemas(rendered.objects), ...crossCheck(rendered.objects, { serviceEnv }), ...checkNatsConfigs(rendered.objects)];
  const used = new Set(rendered.objects.flatMap((o) => containersOf(podTemplateOf(o)?.spec ?? {}).map((c) => c.name)));
  for (const service of SERVICES) {
    if (used.has(service) && !serviceEnv.has(service)) {
      problems.push({
        object: `(service ${service})`,
        message: `services/${service}/src/config.ts does not exist: the variables set for it cannot be checked`,
      });
    }
  }
  return { dir, objects: rendered.objects, notes: rendered.notes, problems };
}
