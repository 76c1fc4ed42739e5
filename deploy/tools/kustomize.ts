import { existsSync, readFileSync, statSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { CLUSTER_SCOPED_KINDS, asK8sObject, clone, containersOf, describe, isRecord, parseYamlDocuments, podTemplateOf, type K8sObject } from './k8s-object.js';
import { applyJsonPatch, strategicMerge } from './patches.js';

/**
 * Renders a kustomization directory into its objects: the subset of kustomize this project's manifests
 * use (no kustomize binary can be installed here). Anything outside the subset is an error, never silently
 * ignored, so a rendered overlay is what `kubectl apply -k` would apply.
 *
 * Supported: resources (files and directories), namespace, labels (pairs, includeTemplates), images,
 * replicas, patches (strategic merge, JSON 6902, inline or from a file, with or without a target),
 * configMapGenerator and secretGenerator (literals, envs, files) with disableNameSuffixHash.
 * Order as kustomize's: resources and generators, then patches, namespace, labels, images, replicas.
 */
export interface RenderResult {
  objects: K8sObject[];
  /** things the renderer did that kustomize would not (an example file used for a missing secret file) */
  notes: string[];
}

const SUPPORTED_FIELDS = new Set([
  'apiVersion',
  'kind',
  'resources',
  'namespace',
  'labels',
  'images',
  'replicas',
  'patches',
  'configMapGenerator',
  'secretGenerator',
  'generatorOptions',
]);

export function renderKustomization(dir: string): RenderResult {
  const notes: string[] = [];
  const objects = render(resolve(dir), notes, []);
  const seen = new Set<string>();
  for (const object of objects) {
    const id = `${object.apiVersion.split('/')[0]}:${describe(object)}`;
    if (seen.has(id)) throw new Error(`${relative(process.cwd(), dir)}: ${describe(object)} is defined twice`);
    seen.add(id);
  }
  return { objects, notes };
}

function render(dir: string, notes: string[], stack: string[]): K8sObject[] {
  if (stack.includes(dir)) throw new Error(`kustomization cycle: ${[...stack, dir].join(' -> ')}`);
  const file = ['kustomization.yaml', 'kustomization.yml', 'Kustomization'].map((f) => join(dir, f)).find((f) => existsSync(f));
  if (!file) throw new Error(`${dir}: no kustomization.yaml`);
  const where = relative(process.cwd(), file);
  const docs = parseYamlDocuments(readFileSync(file, 'utf8'), where);
  const k = docs[0];
  if (docs.length !== 1 || !isRecord(k)) throw new Error(`${where}: must hold one mapping`);
  for (const field of Object.keys(k)) {
    if (!SUPPORTED_FIELDS.has(field)) throw new Error(`${where}: "${field}" is not supported by this renderer (deploy/tools/kustomize.ts)`);
  }
  if (k.kind !== undefined && k.kind !== 'Kustomization') throw new Error(`${where}: kind must be Kustomization`);

  let objects: K8sObject[] = [];
  for (const entry of list(k.resources, `${where}: resources`)) {
    if (typeof entry !== 'string') throw new Error(`${where}: resources entries must be paths`);
    const path = resolve(dir, entry);
    if (!existsSync(path)) throw new Error(`${where}: resource ${entry} does not exist`);
    if (statSync(path).isDirectory()) objects.push(...render(path, notes, [...stack, dir]));
    else objects.push(...readObjects(path));
  }
  objects.push(...generate(k, dir, where, notes));
  for (const patch of list(k.patches, `${where}: patches`)) objects = applyPatch(objects, patch, dir, where);
  if (k.namespace !== undefined) {
    if (typeof k.namespace !== 'string') throw new Error(`${where}: namespace must be a string`);
    for (const object of objects) if (!CLUSTER_SCOPED_KINDS.has(object.kind)) object.metadata.namespace = k.namespace;
  }
  for (const entry of list(k.labels, `${where}: labels`)) applyLabels(objects, entry, where);
  for (const entry of list(k.images, `${where}: images`)) applyImage(objects, entry, where);
  for (const entry of list(k.replicas, `${where}: replicas`)) applyReplicas(objects, entry, where);
  return objects;
}

function list(value: unknown, what: string): unknown[] {
  if (value === undefined) return [];
  if (!Array.isArray(value)) throw new Error(`${what} must be a list`);
  return value;
}

function readObjects(path: string): K8sObject[] {
  const where = relative(process.cwd(), path);
  return parseYamlDocuments(readFileSync(path, 'utf8'), where).map((doc, i) => asK8sObject(doc, `${where} (document ${i + 1})`));
}

function generate(k: Record<string, unknown>, dir: string, where: string, notes: string[]): K8sObject[] {
  const options = isRecord(k.generatorOptions) ? k.generatorOptions : {};
  const generators = [
    ...list(k.configMapGenerator, `${where}: configMapGenerator`).map((g) => ({ kind: 'ConfigMap' as const, g })),
    ...list(k.secretGenerator, `${where}: secretGenerator`).map((g) => ({ kind: 'Secret' as const, g })),
  ];
  if (generators.length > 0 && options.disableNameSuffixHash !== true) {
    // kustomize would append a content hash to the name and rewrite every reference to it
    throw new Error(`${where}: generators need generatorOptions.disableNameSuffixHash: true (name hashes are not implemented)`);
  }
  return generators.map(({ kind, g }) => {
    if (!isRecord(g) || typeof g.name !== 'string') throw new Error(`${where}: a ${kind} generator needs a name`);
    for (const field of Object.keys(g)) {
      if (!['name', 'literals', 'envs', 'files', 'type', 'behavior'].includes(field)) {
        throw new Error(`${where}: generator field "${field}" is not supported`);
      }
    }
    if (g.behavior !== undefined && g.behavior !== 'create') throw new Error(`${where}: generator behavior ${JSON.stringify(g.behavior)} is not supported`);
    const data: Record<string, string> = {};
    const put = (key: string, value: string, from: string) => {
      if (key in data) throw new Error(`${where}: ${kind} ${g.name as string}: key ${key} is given twice (${from})`);
      data[key] = value;
    };
    for (const literal of list(g.literals, `${where}: literals`)) {
      const text = String(literal);
      const eq = text.indexOf('=');
      if (eq <= 0) throw new Error(`${where}: literal "${text}" is not key=value`);
      put(text.slice(0, eq), text.slice(eq + 1), 'literals');
    }
    for (const env of list(g.envs, `${where}: envs`)) {
      const path = resolveGeneratorFile(dir, String(env), where, notes);
      for (const [key, value] of parseEnvFile(readFileSync(path, 'utf8'), relative(process.cwd(), path))) put(key, value, String(env));
    }
    for (const entry of list(g.files, `${where}: files`)) {
      const text = String(entry);
      const eq = text.indexOf('=');
      const key = eq > 0 ? text.slice(0, eq) : (text.split('/').pop() ?? text);
      const path = resolveGeneratorFile(dir, eq > 0 ? text.slice(eq + 1) : text, where, notes);
      put(key, readFileSync(path, 'utf8'), text);
    }
    const object: K8sObject = { apiVersion: 'v1', kind, metadata: { name: g.name } };
    if (kind === 'Secret') {
      object.type = typeof g.type === 'string' ? g.type : 'Opaque';
      object.data = Object.fromEntries(Object.entries(data).map(([key, v]) => [key, Buffer.from(v).toString('base64')]));
    } else {
      object.data = data;
    }
    return object;
  });
}

/**
 * A generator's input file. Secret files are not committed; when one is missing and `<file>.example` is
 * (as for the production overlay's secrets.env), rendering for validation uses the example and says so.
 */
function resolveGeneratorFile(dir: string, file: string, where: string, notes: string[]): string {
  const path = resolve(dir, file);
  if (existsSync(path)) return path;
  const example = `${path}.example`;
  if (existsSync(example)) {
    notes.push(`${relative(process.cwd(), path)} does not exist (it is not committed): rendered with ${relative(process.cwd(), example)}`);
    return example;
  }
  throw new Error(`${where}: generator file ${file} does not exist`);
}

/** key=value lines; blank lines and # comments skipped (kustomize's env file format). */
export function parseEnvFile(text: string, source: string): Array<[string, string]> {
  const out: Array<[string, string]> = [];
  text.split('\n').forEach((raw, i) => {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) return;
    const eq = line.indexOf('=');
    if (eq <= 0) throw new Error(`${source}:${i + 1}: not key=value`);
    out.push([line.slice(0, eq), line.slice(eq + 1)]);
  });
  return out;
}

interface PatchTarget {
  kind?: string;
  name?: string;
  group?: string;
  version?: string;
  namespace?: string;
}

function applyPatch(objects: K8sObject[], entry: unknown, dir: string, where: string): K8sObject[] {
  if (!isRecord(entry)) throw new Error(`${where}: a patches entry must be a mapping`);
  for (const field of Object.keys(entry)) {
    if (!['path', 'patch', 'target'].includes(field)) throw new Error(`${where}: patches field "${field}" is not supported`);
  }
  let text: string;
  let source: string;
  if (typeof entry.path === 'string') {
    const path = resolve(dir, entry.path);
    if (!existsSync(path)) throw new Error(`${where}: patch file ${entry.path} does not exist`);
    text = readFileSync(path, 'utf8');
    source = relative(process.cwd(), path);
  } else if (typeof entry.patch === 'string') {
    text = entry.patch;
    source = `${where} (inline patch)`;
  } else {
    throw new Error(`${where}: a patches entry needs "path" or "patch"`);
  }
  const target = entry.target === undefined ? undefined : parseTarget(entry.target, where);
  const docs = parseYamlDocuments(text, source);
  if (docs.length === 1 && Array.isArray(docs[0])) {
    if (!target) throw new Error(`${source}: a JSON 6902 patch needs a target`);
    const matched = objects.filter((o) => matches(o, target));
    if (matched.length === 0) throw new Error(`${source}: the target ${JSON.stringify(target)} matches no object`);
    const operations = docs[0];
    return objects.map((o) => {
      if (!matched.includes(o)) return o;
      try {
        return asK8sObject(applyJsonPatch(o, operations), source);
      } catch (err) {
        throw new Error(`${source} on ${describe(o)}: ${(err as Error).message}`, { cause: err });
      }
    });
  }
  let result = objects;
  for (const doc of docs) {
    if (!isRecord(doc)) throw new Error(`${source}: a strategic merge patch must be a mapping`);
    const docTarget: PatchTarget = target ?? targetOf(doc, source);
    const matched = result.filter((o) => matches(o, docTarget));
    if (matched.length === 0) throw new Error(`${source}: the patch for ${docTarget.kind}/${docTarget.name} matches no object`);
    if (doc.$patch === 'delete') {
      result = result.filter((o) => !matched.includes(o));
      continue;
    }
    result = result.map((o) => {
      if (!matched.includes(o)) return o;
      const patch = clone(doc);
      // a patch that names its target must not rename it
      if (target && isRecord(patch.metadata)) delete patch.metadata.name;
      try {
        return asK8sObject(strategicMerge(o, patch), source);
      } catch (err) {
        throw new Error(`${source} on ${describe(o)}: ${(err as Error).message}`, { cause: err });
      }
    });
  }
  return result;
}

function parseTarget(value: unknown, where: string): PatchTarget {
  if (!isRecord(value)) throw new Error(`${where}: a patch target must be a mapping`);
  for (const field of Object.keys(value)) {
    if (!['kind', 'name', 'group', 'version', 'namespace'].includes(field)) {
      throw new Error(`${where}: patch target field "${field}" is not supported`);
    }
  }
  return value;
}

function targetOf(doc: Record<string, unknown>, source: string): PatchTarget {
  const metadata = isRecord(doc.metadata) ? doc.metadata : {};
  if (typeof doc.kind !== 'string' || typeof metadata.name !== 'string') {
    throw new Error(`${source}: a strategic merge patch without a target needs kind and metadata.name`);
  }
  const [group, version] = typeof doc.apiVersion === 'string' && doc.apiVersion.includes('/') ? doc.apiVersion.split('/') : ['', doc.apiVersion];
  return { kind: doc.kind, name: metadata.name, group, version: typeof version === 'string' ? version : undefined };
}

function matches(object: K8sObject, target: PatchTarget): boolean {
  const [group, version] = object.apiVersion.includes('/') ? object.apiVersion.split('/') : ['', object.apiVersion];
  if (target.kind !== undefined && target.kind !== object.kind) return false;
  if (target.name !== undefined && target.name !== object.metadata.name) return false;
  if (target.group !== undefined && target.group !== group) return false;
  if (target.version !== undefined && target.version !== version) return false;
  if (target.namespace !== undefined && target.namespace !== object.metadata.namespace) return false;
  return true;
}

function applyLabels(objects: K8sObject[], entry: unknown, where: string): void {
  if (!isRecord(entry) || !isRecord(entry.pairs)) throw new Error(`${where}: a labels entry needs pairs`);
  for (const field of Object.keys(entry)) {
    if (!['pairs', 'includeSelectors', 'includeTemplates'].includes(field)) throw new Error(`${where}: labels field "${field}" is not supported`);
  }
  if (entry.includeSelectors === true)
    throw new Error(`${where}: labels.includeSelectors: true is not supported (selectors are immutable; keep them explicit)`);
  const pairs = Object.fromEntries(Object.entries(entry.pairs).map(([key, value]) => [key, String(value)]));
  for (const object of objects) {
    object.metadata.labels = { ...object.metadata.labels, ...pairs };
    if (entry.includeTemplates === true) {
      const spec = object.spec;
      if (podTemplateOf(object) && isRecord(spec) && isRecord(spec.template)) {
        const template = spec.template;
        const metadata = isRecord(template.metadata) ? template.metadata : (template.metadata = {});
        metadata.labels = { ...(isRecord(metadata.labels) ? metadata.labels : {}), ...pairs };
      }
    }
  }
}

function applyImage(objects: K8sObject[], entry: unknown, where: string): void {
  if (!isRecord(entry) || typeof entry.name !== 'string') throw new Error(`${where}: an images entry needs a name`);
  for (const field of Object.keys(entry)) {
    if (!['name', 'newName', 'newTag', 'digest'].includes(field)) throw new Error(`${where}: images field "${field}" is not supported`);
  }
  let used = false;
  for (const object of objects) {
    const template = podTemplateOf(object);
    if (!template) continue;
    for (const container of containersOf(template.spec)) {
      if (!container.image) continue;
      const { name, tag, digest } = splitImage(container.image);
      if (name !== entry.name) continue;
      used = true;
      const newName = typeof entry.newName === 'string' ? entry.newName : name;
      if (typeof entry.digest === 'string') container.image = `${newName}@${entry.digest}`;
      else if (typeof entry.newTag === 'string' || typeof entry.newTag === 'number') container.image = `${newName}:${entry.newTag}`;
      else container.image = `${newName}${tag ? `:${tag}` : ''}${digest ? `@${digest}` : ''}`;
    }
  }
  if (!used) throw new Error(`${where}: images entry ${entry.name} matches no container image`);
}

export function splitImage(image: string): { name: string; tag?: string; digest?: string } {
  const [withoutDigest, digest] = image.split('@') as [string, string | undefined];
  const slash = withoutDigest.lastIndexOf('/');
  const colon = withoutDigest.lastIndexOf(':');
  if (colon > slash) return { name: withoutDigest.slice(0, colon), tag: withoutDigest.slice(colon + 1), ...(digest ? { digest } : {}) };
  return { name: withoutDigest, ...(digest ? { digest } : {}) };
}

function applyReplicas(objects: K8sObject[], entry: unknown, where: string): void {
  if (!isRecord(entry) || typeof entry.name !== 'string' || typeof entry.count !== 'number') {
    throw new Error(`${where}: a replicas entry needs name and count`);
  }
  const targets = objects.filter((o) => ['Deployment', 'StatefulSet', 'ReplicaSet'].includes(o.kind) && o.metadata.name === entry.name);
  if (targets.length === 0) throw new Error(`${where}: replicas entry ${entry.name} matches no Deployment or StatefulSet`);
  for (const object of targets) {
    if (isRecord(object.spec)) object.spec.replicas = entry.count;
  }
}
