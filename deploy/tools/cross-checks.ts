import { containersOf, describe, isRecord, podTemplateOf, type ContainerView, type K8sObject } from './k8s-object.js';
import { splitImage } from './kustomize.js';
import type { Problem } from './schema-check.js';
import type { ServiceEnv } from './config-env.js';

/**
 * The checks a schema cannot make, because they relate objects to each other or to the code:
 * selectors against pod labels, Services/Ingresses/probes/policies against container ports, volumes and
 * secrets against what exists, environment variables against what each service's config.ts reads,
 * media's UDP ranges against its hostPorts and the policies, grace periods against shutdown timeouts,
 * and the security and resource settings every pod must have.
 */
export interface CrossCheckOptions {
  /** per service container name: the environment variables its config.ts reads */
  serviceEnv: Map<string, ServiceEnv>;
}

interface Pod {
  owner: K8sObject;
  labels: Record<string, string>;
  spec: Record<string, unknown>;
  containers: ContainerView[];
}

type Selector = { matchLabels?: Record<string, string>; matchExpressions?: Array<{ key: string; operator: string; values?: string[] }> };

export function crossCheck(objects: K8sObject[], options: CrossCheckOptions): Problem[] {
  const problems: Problem[] = [];
  const report = (object: K8sObject, message: string) => problems.push({ object: describe(object), message });
  const pods: Pod[] = objects.flatMap((owner) => {
    const template = podTemplateOf(owner);
    return template ? [{ owner, labels: template.labels, spec: template.spec, containers: containersOf(template.spec) }] : [];
  });
  const byKindName = (kind: string, name: string, namespace?: string) =>
    objects.find((o) => o.kind === kind && o.metadata.name === name && o.metadata.namespace === namespace);

  for (const pod of pods) {
    checkWorkloadSelector(pod, report);
    checkPodSecurity(pod, report);
    checkVolumes(pod, objects, report);
    for (const container of pod.containers) {
      checkContainer(pod, container, report);
      checkEnvReferences(pod, container, objects, report);
      checkServiceEnv(pod, container, options.serviceEnv, report);
      checkServiceUrls(pod, container, objects, report);
    }
    checkGracePeriod(pod, options.serviceEnv, report);
  }
  for (const object of objects) {
    const spec = isRecord(object.spec) ? object.spec : {};
    switch (object.kind) {
      case 'Service':
        checkService(object, spec, pods, report);
        break;
      case 'Ingress':
        checkIngress(object, spec, byKindName, report);
        break;
      case 'HorizontalPodAutoscaler':
        checkHpa(object, spec, pods, report);
        break;
      case 'PodDisruptionBudget':
        if (!selectsAny(spec.selector as Selector | undefined, pods)) report(object, 'its selector matches no pod template');
        break;
      case 'NetworkPolicy':
        checkNetworkPolicy(object, spec, pods, report);
        break;
    }
  }
  checkMediaPorts(pods, objects, report);
  return problems;
}

function matchesSelector(selector: Selector | undefined, labels: Record<string, string>): boolean {
  if (!selector) return false;
  for (const [key, value] of Object.entries(selector.matchLabels ?? {})) if (labels[key] !== value) return false;
  for (const expression of selector.matchExpressions ?? []) {
    const value = labels[expression.key];
    const values = expression.values ?? [];
    const ok =
      expression.operator === 'In' ? value !== undefined && values.includes(value)
      : expression.operator === 'NotIn' ? value === undefined || !values.includes(value)
      : expression.operator === 'Exists' ? value !== undefined
      : expression.operator === 'DoesNotExist' ? value === undefined
      : false;
    if (!ok) return false;
  }
  return true;
}

function isEmptySelector(selector: Selector | undefined): boolean {
  return !!selector && Object.keys(selector.matchLabels ?? {}).length === 0 && (selector.matchExpressions ?? []).length === 0;
}

function selectsAny(selector: Selector | undefined, pods: Pod[], namespace?: string): boolean {
  return pods.some((p) => (namespace === undefined || p.owner.metadata.namespace === namespace) && matchesSelector(selector, p.labels));
}

function checkWorkloadSelector(pod: Pod, report: (o: K8sObject, m: string) => void): void {
  const spec = pod.owner.spec as Record<string, unknown>;
  const selector = spec.selector as Selector | undefined;
  if (!selector || isEmptySelector(selector)) {
    report(pod.owner, 'spec.selector is empty: it must select the pod template by its labels');
  } else if (!matchesSelector(selector, pod.labels)) {
    report(pod.owner, `spec.selector ${JSON.stringify(selector)} does not match the pod template's labels ${JSON.stringify(pod.labels)}`);
  }
}

function portsOf(pods: Pod[]): Array<{ pod: Pod; container: ContainerView; name?: string; containerPort: number; protocol: string }> {
  return pods.flatMap((pod) =>
    pod.containers.flatMap((container) =>
      (container.ports ?? []).map((p) => ({ pod, container, ...(p.name ? { name: p.name } : {}), containerPort: p.containerPort, protocol: p.protocol ?? 'TCP' })),
    ),
  );
}

function checkService(service: K8sObject, spec: Record<string, unknown>, pods: Pod[], report: (o: K8sObject, m: string) => void): void {
  const selector = spec.selector as Record<string, string> | undefined;
  if (!selector || Object.keys(selector).length === 0) return; // a Service without selector has manual endpoints
  const selected = pods.filter((p) => p.owner.metadata.namespace === service.metadata.namespace && matchesSelector({ matchLabels: selector }, p.labels));
  if (selected.length === 0) {
    report(service, `its selector ${JSON.stringify(selector)} matches no pod template`);
    return;
  }
  const ports = portsOf(selected);
  for (const port of (spec.ports ?? []) as Array<{ name?: string; port: number; targetPort?: number | string; protocol?: string }>) {
    const target = port.targetPort ?? port.port;
    const protocol = port.protocol ?? 'TCP';
    const found = ports.some((p) => (typeof target === 'string' ? p.name === target : p.containerPort === target) && p.protocol === protocol);
    if (!found) {
      const available = ports.map((p) => `${p.name ?? p.containerPort}/${p.protocol}`).join(', ');
      report(service, `port ${port.name ?? port.port} targets ${String(target)}/${protocol}, which no selected container exposes (they expose: ${available || 'nothing'})`);
    }
  }
}

function checkIngress(
  ingress: K8sObject,
  spec: Record<string, unknown>,
  byKindName: (kind: string, name: string, namespace?: string) => K8sObject | undefined,
  report: (o: K8sObject, m: string) => void,
): void {
  type Backend = { service?: { name: string; port?: { name?: string; number?: number } } };
  const backends: Backend[] = [];
  if (isRecord(spec.defaultBackend)) backends.push(spec.defaultBackend as Backend);
  for (const rule of (spec.rules ?? []) as Array<{ http?: { paths?: Array<{ backend: Backend }> } }>) {
    for (const path of rule.http?.paths ?? []) backends.push(path.backend);
  }
  for (const backend of backends) {
    if (!backend.service) continue;
    const service = byKindName('Service', backend.service.name, ingress.metadata.namespace);
    if (!service) {
      report(ingress, `backend Service ${backend.service.name} does not exist`);
      continue;
    }
    const ports = ((service.spec as Record<string, unknown>).ports ?? []) as Array<{ name?: string; port: number }>;
    const wanted = backend.service.port;
    if (wanted && !ports.some((p) => (wanted.name !== undefined ? p.name === wanted.name : p.port === wanted.number))) {
      report(ingress, `backend Service ${backend.service.name} has no port ${wanted.name ?? String(wanted.number)}`);
    }
  }
}

function checkHpa(hpa: K8sObject, spec: Record<string, unknown>, pods: Pod[], report: (o: K8sObject, m: string) => void): void {
  const ref = spec.scaleTargetRef as { kind: string; name: string } | undefined;
  const target = pods.find((p) => p.owner.kind === ref?.kind && p.owner.metadata.name === ref?.name && p.owner.metadata.namespace === hpa.metadata.namespace);
  if (!target) {
    report(hpa, `scaleTargetRef ${ref?.kind}/${ref?.name} does not exist`);
    return;
  }
  const min = spec.minReplicas as number | undefined;
  const max = spec.maxReplicas as number;
  if (min !== undefined && min > max) report(hpa, `minReplicas ${min} is above maxReplicas ${max}`);
  for (const metric of (spec.metrics ?? []) as Array<{ type: string; resource?: { name: string } }>) {
    if (metric.type !== 'Resource' || !metric.resource) continue;
    const resource = metric.resource.name;
    for (const container of target.containers) {
      if (container.resources?.requests?.[resource] === undefined) {
        report(hpa, `scales on ${resource} utilization, but container ${container.name} of ${describe(target.owner)} requests no ${resource}`);
      }
    }
  }
}

function checkNetworkPolicy(policy: K8sObject, spec: Record<string, unknown>, pods: Pod[], report: (o: K8sObject, m: string) => void): void {
  const namespace = policy.metadata.namespace;
  const podSelector = spec.podSelector as Selector | undefined;
  const inNamespace = pods.filter((p) => p.owner.metadata.namespace === namespace);
  const selected = isEmptySelector(podSelector) ? inNamespace : inNamespace.filter((p) => matchesSelector(podSelector, p.labels));
  if (selected.length === 0) {
    report(policy, `spec.podSelector ${JSON.stringify(podSelector)} matches no pod template`);
    return;
  }
  type Peer = { podSelector?: Selector; namespaceSelector?: Selector; ipBlock?: unknown };
  type Rule = { from?: Peer[]; ports?: Array<{ protocol?: string; port?: number | string; endPort?: number }> };
  (spec.ingress as Rule[] | undefined)?.forEach((rule, i) => {
    for (const peer of rule.from ?? []) {
      if (peer.podSelector && !peer.namespaceSelector && !isEmptySelector(peer.podSelector) && !selectsAny(peer.podSelector, pods, namespace)) {
        report(policy, `ingress[${i}] allows pods ${JSON.stringify(peer.podSelector)}, which match no pod template`);
      }
    }
    for (const port of rule.ports ?? []) {
      if (port.port === undefined) continue;
      const protocol = port.protocol ?? 'TCP';
      const exposed = portsOf(selected).filter((p) => p.protocol === protocol);
      const ok = exposed.some((p) =>
        typeof port.port === 'string' ? p.name === port.port : p.containerPort >= (port.port as number) && p.containerPort <= (port.endPort ?? (port.port as number)),
      );
      // a range of a protocol the containers do not declare at all is bound at run time (the recorders'
      // RTP ports, handed out by media); its consistency with media's settings is checked in checkMediaPorts
      const runtimeRange = port.endPort !== undefined && exposed.length === 0;
      if (!ok && !runtimeRange) {
        report(policy, `ingress[${i}] allows ${protocol} ${String(port.port)}${port.endPort ? `-${port.endPort}` : ''}, which no selected container exposes`);
      }
    }
  });
}

function envValue(container: ContainerView, name: string): string | undefined {
  return container.env?.find((e) => e.name === name)?.value;
}

function checkContainer(pod: Pod, container: ContainerView, report: (o: K8sObject, m: string) => void): void {
  const where = `container ${container.name}`;
  if (!container.image) report(pod.owner, `${where} has no image`);
  else if (!splitImage(container.image).tag && !splitImage(container.image).digest) report(pod.owner, `${where}: image ${container.image} has no tag (set one in the overlay's images)`);
  for (const kind of ['cpu', 'memory'] as const) {
    if (container.resources?.requests?.[kind] === undefined) report(pod.owner, `${where} has no ${kind} request`);
    if (container.resources?.limits?.[kind] === undefined) report(pod.owner, `${where} has no ${kind} limit`);
  }
  if (!container.readinessProbe) report(pod.owner, `${where} has no readiness probe`);
  if (!container.livenessProbe) report(pod.owner, `${where} has no liveness probe`);
  const names = new Set((container.ports ?? []).map((p) => p.name).filter(Boolean));
  const numbers = new Set((container.ports ?? []).map((p) => p.containerPort));
  for (const probeName of ['readinessProbe', 'livenessProbe', 'startupProbe'] as const) {
    const probe = container[probeName];
    if (!probe) continue;
    const handler = (probe.httpGet ?? probe.tcpSocket ?? probe.grpc) as { port?: number | string } | undefined;
    if (!handler || handler.port === undefined) continue;
    const ok = typeof handler.port === 'string' ? names.has(handler.port) : numbers.has(handler.port);
    if (!ok) report(pod.owner, `${where}: ${probeName} targets port ${String(handler.port)}, which the container does not declare`);
  }
  const security = container.securityContext ?? {};
  if (security.allowPrivilegeEscalation !== false) report(pod.owner, `${where}: securityContext.allowPrivilegeEscalation must be false`);
  const capabilities = isRecord(security.capabilities) ? security.capabilities : {};
  if (!Array.isArray(capabilities.drop) || !capabilities.drop.includes('ALL')) report(pod.owner, `${where}: securityContext.capabilities.drop must include ALL`);
  if (security.privileged === true) report(pod.owner, `${where} must not be privileged`);
}

function checkPodSecurity(pod: Pod, report: (o: K8sObject, m: string) => void): void {
  const security = isRecord(pod.spec.securityContext) ? pod.spec.securityContext : {};
  for (const container of pod.containers) {
    const own = container.securityContext ?? {};
    const nonRoot = own.runAsNonRoot ?? security.runAsNonRoot;
    const user = (own.runAsUser ?? security.runAsUser) as number | undefined;
    if (nonRoot !== true) report(pod.owner, `container ${container.name} must run with runAsNonRoot: true`);
    if (user === 0) report(pod.owner, `container ${container.name} runs as user 0`);
    const seccomp = (isRecord(own.seccompProfile) ? own.seccompProfile : isRecord(security.seccompProfile) ? security.seccompProfile : {}) as { type?: string };
    if (seccomp.type !== 'RuntimeDefault' && seccomp.type !== 'Localhost') report(pod.owner, `container ${container.name} needs seccompProfile RuntimeDefault`);
  }
  if (pod.spec.hostNetwork === true || pod.spec.hostPID === true || pod.spec.hostIPC === true) {
    report(pod.owner, 'hostNetwork, hostPID and hostIPC are not used by this stack');
  }
}

function checkVolumes(pod: Pod, objects: K8sObject[], report: (o: K8sObject, m: string) => void): void {
  const namespace = pod.owner.metadata.namespace;
  const volumes = (pod.spec.volumes ?? []) as Array<Record<string, unknown> & { name: string }>;
  const claimTemplates = ((pod.owner.spec as Record<string, unknown>).volumeClaimTemplates ?? []) as Array<{ metadata: { name: string } }>;
  const names = new Set([...volumes.map((v) => v.name), ...claimTemplates.map((t) => t.metadata.name)]);
  for (const container of pod.containers) {
    for (const mount of container.volumeMounts ?? []) {
      if (!names.has(mount.name)) report(pod.owner, `container ${container.name} mounts volume ${mount.name}, which the pod does not define`);
    }
  }
  const exists = (kind: string, name: string) => objects.some((o) => o.kind === kind && o.metadata.name === name && o.metadata.namespace === namespace);
  for (const volume of volumes) {
    const claim = isRecord(volume.persistentVolumeClaim) ? (volume.persistentVolumeClaim.claimName as string) : undefined;
    if (claim && !exists('PersistentVolumeClaim', claim)) report(pod.owner, `volume ${volume.name} uses PersistentVolumeClaim ${claim}, which does not exist`);
    const configMap = isRecord(volume.configMap) ? (volume.configMap.name as string) : undefined;
    if (configMap && !exists('ConfigMap', configMap)) report(pod.owner, `volume ${volume.name} uses ConfigMap ${configMap}, which does not exist`);
    const secret = isRecord(volume.secret) ? (volume.secret.secretName as string) : undefined;
    if (secret && !exists('Secret', secret)) report(pod.owner, `volume ${volume.name} uses Secret ${secret}, which does not exist`);
  }
  const unused = volumes.filter((v) => !pod.containers.some((c) => (c.volumeMounts ?? []).some((m) => m.name === v.name)));
  for (const volume of unused) report(pod.owner, `volume ${volume.name} is mounted by no container`);
}

function checkEnvReferences(pod: Pod, container: ContainerView, objects: K8sObject[], report: (o: K8sObject, m: string) => void): void {
  const namespace = pod.owner.metadata.namespace;
  const seen = new Set<string>();
  for (const variable of container.env ?? []) {
    if (seen.has(variable.name)) report(pod.owner, `container ${container.name} sets ${variable.name} twice`);
    seen.add(variable.name);
    const from = variable.valueFrom ?? {};
    for (const [refKind, kind] of [['secretKeyRef', 'Secret'], ['configMapKeyRef', 'ConfigMap']] as const) {
      const ref = from[refKind] as { name: string; key: string; optional?: boolean } | undefined;
      if (!ref || ref.optional) continue;
      const target = objects.find((o) => o.kind === kind && o.metadata.name === ref.name && o.metadata.namespace === namespace);
      if (!target) report(pod.owner, `container ${container.name}: ${variable.name} comes from ${kind} ${ref.name}, which does not exist`);
      else if (!isRecord(target.data) || !(ref.key in target.data)) report(pod.owner, `container ${container.name}: ${variable.name} comes from key ${ref.key} of ${kind} ${ref.name}, which has no such key`);
    }
  }
}

/** The containers of our services may only set variables their config.ts reads (a typo would be ignored). */
function checkServiceEnv(pod: Pod, container: ContainerView, serviceEnv: Map<string, ServiceEnv>, report: (o: K8sObject, m: string) => void): void {
  const env = serviceEnv.get(container.name);
  if (!env) return;
  if ((container.envFrom ?? []).length > 0) report(pod.owner, `container ${container.name} uses envFrom: set each variable explicitly so it can be checked against ${env.file}`);
  for (const variable of container.env ?? []) {
    if (!env.variables.has(variable.name)) {
      report(pod.owner, `container ${container.name} sets ${variable.name}, which services/${env.service}/src/config.ts does not read`);
    }
  }
}

/** `nats://nats:4222`-style values must name a Service of this deployment that has that port. */
function checkServiceUrls(pod: Pod, container: ContainerView, objects: K8sObject[], report: (o: K8sObject, m: string) => void): void {
  for (const variable of container.env ?? []) {
    if (typeof variable.value !== 'string') continue;
    for (const url of variable.value.split(',')) {
      const match = /^[a-z][a-z0-9+.-]*:\/\/([a-z0-9-]+)(?::(\d+))?(?:\/|$)/.exec(url.trim());
      if (!match || match[1] === 'localhost') continue;
      const [, host, port] = match;
      const service = objects.find((o) => o.kind === 'Service' && o.metadata.name === host && o.metadata.namespace === pod.owner.metadata.namespace);
      if (!service) {
        report(pod.owner, `container ${container.name}: ${variable.name}=${variable.value} names host ${host}, but there is no Service ${host}`);
        continue;
      }
      const ports = ((service.spec as Record<string, unknown>).ports ?? []) as Array<{ port: number }>;
      if (port && !ports.some((p) => p.port === Number(port))) report(pod.owner, `container ${container.name}: ${variable.name} uses port ${port}, which Service ${host} does not have`);
    }
  }
}

function checkGracePeriod(pod: Pod, serviceEnv: Map<string, ServiceEnv>, report: (o: K8sObject, m: string) => void): void {
  const grace = (pod.spec.terminationGracePeriodSeconds as number | undefined) ?? 30;
  for (const container of pod.containers) {
    if (!serviceEnv.has(container.name)) continue;
    const shutdown = Number(envValue(container, 'SHUTDOWN_TIMEOUT_SECONDS') ?? 30);
    // the service drains for up to SHUTDOWN_TIMEOUT_SECONDS; the kubelet's SIGKILL must come later
    if (grace < shutdown + 5) {
      report(pod.owner, `terminationGracePeriodSeconds ${grace} is not longer than SHUTDOWN_TIMEOUT_SECONDS ${shutdown} of ${container.name} (+5 s margin): recordings would be killed before they are finalized`);
    }
  }
}

/**
 * media: its hostPorts must be exactly MEDIA_UDP_PORT_MIN..MAX (clients reach Medooze's endpoint on any
 * of them), its policy must open that range, and the recorders' policy must open media's
 * RECORDER_PORT_MIN..MAX to media pods.
 */
function checkMediaPorts(pods: Pod[], objects: K8sObject[], report: (o: K8sObject, m: string) => void): void {
  for (const pod of pods) {
    const media = pod.containers.find((c) => c.name === 'media');
    if (!media) continue;
    const min = Number(envValue(media, 'MEDIA_UDP_PORT_MIN') ?? 40000);
    const max = Number(envValue(media, 'MEDIA_UDP_PORT_MAX') ?? 40099);
    const udp = (media.ports ?? []).filter((p) => p.protocol === 'UDP');
    const published = new Set(udp.filter((p) => p.hostPort === p.containerPort).map((p) => p.containerPort));
    const missing: number[] = [];
    for (let port = min; port <= max; port++) if (!published.has(port)) missing.push(port);
    if (missing.length > 0) report(pod.owner, `media's UDP range ${min}-${max} is not fully published as hostPorts (missing ${summarize(missing)})`);
    const outside = udp.filter((p) => p.containerPort < min || p.containerPort > max);
    if (outside.length > 0) report(pod.owner, `media publishes UDP ports outside MEDIA_UDP_PORT_MIN..MAX: ${summarize(outside.map((p) => p.containerPort))}`);
    // media's own sizing (services/media/src/main.ts): a port per endpoint, and an RTP and an RTCP port per
    // recorded track (two tracks) of every session. Unset, MEDIA_ENDPOINTS is the node's core count, unknown
    // here: at least one is counted
    const sessions = Number(envValue(media, 'MAX_SESSIONS') ?? 50);
    const endpoints = Number(envValue(media, 'MEDIA_ENDPOINTS') ?? 1);
    if (endpoints + 4 * sessions > max - min + 1) {
      report(
        pod.owner,
        `MAX_SESSIONS ${sessions} with ${endpoints} endpoint(s) needs ${endpoints + 4 * sessions} ports of Medooze's range (a port per endpoint, RTP and RTCP per recorded track), the range has ${max - min + 1}`,
      );
    }
    const policies = objects.filter((o) => o.kind === 'NetworkPolicy' && o.metadata.namespace === pod.owner.metadata.namespace);
    const opens = (policy: K8sObject, selectorMatches: (p: Pod) => boolean, from: number, to: number, peer?: (p: Pod) => boolean) => {
      const spec = policy.spec as Record<string, unknown>;
      const target = spec.podSelector as Selector;
      if (!pods.some((p) => selectorMatches(p) && (isEmptySelector(target) || matchesSelector(target, p.labels)))) return false;
      return ((spec.ingress ?? []) as Array<{ from?: Array<{ podSelector?: Selector }>; ports?: Array<{ protocol?: string; port?: number; endPort?: number }> }>).some(
        (rule) =>
          (peer === undefined ? (rule.from ?? []).length === 0 : (rule.from ?? []).some((f) => f.podSelector && pods.some((p) => peer(p) && matchesSelector(f.podSelector, p.labels)))) &&
          (rule.ports ?? []).some((p) => p.protocol === 'UDP' && p.port !== undefined && p.port <= from && (p.endPort ?? p.port) >= to),
      );
    };
    const isMedia = (p: Pod) => p.containers.some((c) => c.name === 'media');
    const isRecorder = (p: Pod) => p.containers.some((c) => c.name === 'recorder');
    if (policies.length > 0 && !policies.some((policy) => opens(policy, isMedia, min, max))) {
      report(pod.owner, `no NetworkPolicy lets clients reach media's UDP ${min}-${max}`);
    }
    const recorderMin = Number(envValue(media, 'RECORDER_PORT_MIN') ?? 50000);
    const recorderMax = Number(envValue(media, 'RECORDER_PORT_MAX') ?? 50999);
    if (policies.length > 0 && pods.some(isRecorder) && !policies.some((policy) => opens(policy, isRecorder, recorderMin, recorderMax, isMedia))) {
      report(pod.owner, `no NetworkPolicy lets media reach the recorders' UDP ${recorderMin}-${recorderMax} (RECORDER_PORT_MIN..MAX)`);
    }
  }
}

function summarize(ports: number[]): string {
  return ports.length > 6 ? `${ports.slice(0, 5).join(', ')}, ... (${ports.length} ports)` : ports.join(', ');
}
