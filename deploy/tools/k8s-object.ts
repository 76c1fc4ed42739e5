import { parseAllDocuments } from 'yaml';

/** A Kubernetes object as rendered: plain JSON data, with where it came from for messages. */
export interface K8sObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string>; annotations?: Record<string, string> };
  [field: string]: unknown;
}

export type JsonValue = null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue };

export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** `Kind/name` (and namespace when set), the way problems name an object. */
export function describe(object: Pick<K8sObject, 'kind' | 'metadata'>): string {
  const ns = object.metadata.namespace ? `${object.metadata.namespace}/` : '';
  return `${object.kind}/${ns}${object.metadata.name}`;
}

/**
 * Parses a multi-document YAML text the way the Kubernetes tools do: YAML 1.1 (sigs.k8s.io/yaml uses
 * go-yaml v2), so that an unquoted `yes` or `on` is a boolean here as it is for kubectl.
 */
export function parseYamlDocuments(text: string, source: string): unknown[] {
  const docs = parseAllDocuments(text, { version: '1.1', prettyErrors: true, uniqueKeys: true });
  const out: unknown[] = [];
  for (const doc of Array.isArray(docs) ? docs : [docs]) {
    if (doc.errors.length > 0) {
      throw new Error(`${source}: invalid YAML: ${doc.errors.map((e) => e.message).join('; ')}`);
    }
    const value = doc.toJS({ maxAliasCount: 100 }) as unknown;
    if (value !== null && value !== undefined) out.push(value);
  }
  return out;
}

/** Checks that a parsed document is shaped like a Kubernetes object (apiVersion, kind, metadata.name). */
export function asK8sObject(value: unknown, source: string): K8sObject {
  if (!isRecord(value)) throw new Error(`${source}: a Kubernetes object must be a mapping`);
  const { apiVersion, kind, metadata } = value;
  if (typeof apiVersion !== 'string' || apiVersion === '') throw new Error(`${source}: apiVersion is missing`);
  if (typeof kind !== 'string' || kind === '') throw new Error(`${source}: kind is missing`);
  if (!isRecord(metadata) || typeof metadata.name !== 'string' || metadata.name === '') {
    throw new Error(`${source}: ${kind} has no metadata.name`);
  }
  return value as K8sObject;
}

export function clone<T>(value: T): T {
  return structuredClone(value);
}

/** Kinds that live outside namespaces (the subset a namespace transformer must leave alone). */
export const CLUSTER_SCOPED_KINDS = new Set([
  'Namespace',
  'PersistentVolume',
  'StorageClass',
  'ClusterRole',
  'ClusterRoleBinding',
  'IngressClass',
  'PriorityClass',
  'CustomResourceDefinition',
  'ValidatingWebhookConfiguration',
  'MutatingWebhookConfiguration',
  'RuntimeClass',
]);

/** Workload kinds and where their pod template is. */
export const WORKLOAD_KINDS = new Set(['Deployment', 'StatefulSet', 'DaemonSet', 'ReplicaSet', 'Job']);

export interface PodTemplate {
  labels: Record<string, string>;
  spec: Record<string, unknown>;
}

/** The pod template of a workload (Deployment, StatefulSet, ...), or undefined for other kinds. */
export function podTemplateOf(object: K8sObject): PodTemplate | undefined {
  if (!WORKLOAD_KINDS.has(object.kind)) return undefined;
  const spec = object.spec;
  if (!isRecord(spec) || !isRecord(spec.template)) return undefined;
  const template = spec.template;
  const metadata = isRecord(template.metadata) ? template.metadata : {};
  const labels = isRecord(metadata.labels) ? (metadata.labels as Record<string, string>) : {};
  const podSpec = isRecord(template.spec) ? template.spec : {};
  return { labels, spec: podSpec };
}

export interface ContainerView {
  name: string;
  image?: string;
  env?: Array<{ name: string; value?: string; valueFrom?: Record<string, unknown> }>;
  envFrom?: Array<Record<string, unknown>>;
  ports?: Array<{ name?: string; containerPort: number; hostPort?: number; protocol?: string }>;
  volumeMounts?: Array<{ name: string; mountPath: string }>;
  readinessProbe?: Record<string, unknown>;
  livenessProbe?: Record<string, unknown>;
  startupProbe?: Record<string, unknown>;
  resources?: { requests?: Record<string, unknown>; limits?: Record<string, unknown> };
  securityContext?: Record<string, unknown>;
}

/** All containers of a pod spec (init containers included). */
export function containersOf(podSpec: Record<string, unknown>): ContainerView[] {
  const list = (key: string) => (Array.isArray(podSpec[key]) ? (podSpec[key] as ContainerView[]) : []);
  return [...list('initContainers'), ...list('containers')];
}
