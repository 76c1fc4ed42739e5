import { clone, isRecord } from './k8s-object.js';

/**
 * Strategic merge patch, the subset of Kubernetes' rules that manifests use:
 *  - maps merge recursively; a `null` value removes the key;
 *  - lists with a merge key (containers and volumes by name, volumeMounts by mountPath, container ports by
 *    containerPort, ...) merge item by item; an item with `$patch: delete` removes the matching item;
 *  - other lists are replaced;
 *  - `$patch: replace` on a map replaces it.
 * Directives this subset does not implement (`$setElementOrder`, `$retainKeys`, `$deleteFromPrimitiveList`)
 * are rejected instead of being ignored.
 */
export function strategicMerge(base: unknown, patch: unknown, path = ''): unknown {
  if (!isRecord(patch)) return clone(patch);
  for (const key of Object.keys(patch)) {
    if (key.startsWith('$') && key !== '$patch') throw new Error(`${path || '/'}: strategic merge directive ${key} is not supported`);
  }
  const directive = patch.$patch;
  if (directive === 'replace') return stripDirectives(patch);
  if (directive !== undefined && directive !== 'merge') {
    throw new Error(`${path || '/'}: $patch: ${JSON.stringify(directive)} is only supported on list items and whole objects`);
  }
  const result: Record<string, unknown> = isRecord(base) ? clone(base) : {};
  for (const [key, value] of Object.entries(patch)) {
    if (key === '$patch') continue;
    const here = `${path}/${key}`;
    if (value === null) {
      delete result[key];
    } else if (Array.isArray(value)) {
      result[key] = mergeList(key, result[key], value, here);
    } else if (isRecord(value)) {
      result[key] = strategicMerge(result[key], value, here);
    } else {
      result[key] = value;
    }
  }
  return result;
}

/** Merge keys of the Kubernetes API's patchMergeKey annotations, by field name (the subset in use). */
const MERGE_KEYS: Record<string, (item: Record<string, unknown>) => string | undefined> = {
  containers: () => 'name',
  initContainers: () => 'name',
  ephemeralContainers: () => 'name',
  env: () => 'name',
  volumes: () => 'name',
  volumeMounts: () => 'mountPath',
  volumeDevices: () => 'devicePath',
  imagePullSecrets: () => 'name',
  hostAliases: () => 'ip',
  topologySpreadConstraints: () => 'topologyKey',
  // container ports merge by containerPort, Service ports by port
  ports: (item) => ('containerPort' in item ? 'containerPort' : 'port' in item ? 'port' : undefined),
};

function mergeList(field: string, base: unknown, patch: unknown[], path: string): unknown[] {
  const replaceAll = patch.some((item) => isRecord(item) && item.$patch === 'replace' && Object.keys(item).length === 1);
  if (replaceAll) return patch.filter((item) => !(isRecord(item) && item.$patch === 'replace')).map(stripDirectives);
  const keyOf = MERGE_KEYS[field];
  const baseList = Array.isArray(base) ? clone(base) : [];
  if (!keyOf || !patch.every(isRecord)) return patch.map(stripDirectives);
  const result = baseList as unknown[];
  for (const item of patch) {
    const key = keyOf(item);
    if (key === undefined || item[key] === undefined) throw new Error(`${path}: a list item has no merge key (${key ?? 'unknown'})`);
    const index = result.findIndex((existing) => isRecord(existing) && existing[key] === item[key]);
    if (item.$patch === 'delete') {
      if (index >= 0) result.splice(index, 1);
      continue;
    }
    if (index >= 0) result[index] = strategicMerge(result[index], item, `${path}[${key}=${JSON.stringify(item[key])}]`);
    else result.push(stripDirectives(item));
  }
  return result;
}

function stripDirectives(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(stripDirectives);
  if (!isRecord(value)) return value;
  const out: Record<string, unknown> = {};
  for (const [key, inner] of Object.entries(value)) {
    if (key === '$patch') continue;
    out[key] = stripDirectives(inner);
  }
  return out;
}

export interface JsonPatchOperation {
  op: 'add' | 'remove' | 'replace' | 'test' | 'copy' | 'move';
  path: string;
  value?: unknown;
  from?: string;
}

/** RFC 6902 JSON patch (add, remove, replace, test, copy, move), applied to a copy of `document`. */
export function applyJsonPatch(document: unknown, operations: unknown[]): unknown {
  let doc = clone(document);
  operations.forEach((raw, index) => {
    if (!isRecord(raw) || typeof raw.op !== 'string' || typeof raw.path !== 'string') {
      throw new Error(`JSON patch operation ${index}: needs "op" and "path"`);
    }
    const op = raw as unknown as JsonPatchOperation;
    const where = `JSON patch operation ${index} (${op.op} ${op.path})`;
    switch (op.op) {
      case 'add':
        doc = setAt(doc, op.path, clone(op.value), 'add', where);
        break;
      case 'replace':
        doc = setAt(doc, op.path, clone(op.value), 'replace', where);
        break;
      case 'remove':
        doc = removeAt(doc, op.path, where);
        break;
      case 'test':
        if (JSON.stringify(getAt(doc, op.path, where)) !== JSON.stringify(op.value)) throw new Error(`${where}: test failed`);
        break;
      case 'copy':
        doc = setAt(doc, op.path, clone(getAt(doc, requireFrom(op, where), where)), 'add', where);
        break;
      case 'move': {
        const value = getAt(doc, requireFrom(op, where), where);
        doc = removeAt(doc, requireFrom(op, where), where);
        doc = setAt(doc, op.path, value, 'add', where);
        break;
      }
      default:
        throw new Error(`${where}: unknown op`);
    }
  });
  return doc;
}

function requireFrom(op: JsonPatchOperation, where: string): string {
  if (typeof op.from !== 'string') throw new Error(`${where}: needs "from"`);
  return op.from;
}

function tokens(pointer: string, where: string): string[] {
  if (pointer === '') return [];
  if (!pointer.startsWith('/')) throw new Error(`${where}: path must start with "/"`);
  return pointer
    .slice(1)
    .split('/')
    .map((t) => t.replace(/~1/g, '/').replace(/~0/g, '~'));
}

function getAt(doc: unknown, pointer: string, where: string): unknown {
  let node = doc;
  for (const token of tokens(pointer, where)) {
    if (Array.isArray(node)) node = node[arrayIndex(node, token, false, where)];
    else if (isRecord(node) && token in node) node = node[token];
    else throw new Error(`${where}: ${pointer} does not exist`);
  }
  return node;
}

function arrayIndex(list: unknown[], token: string, forAdd: boolean, where: string): number {
  if (token === '-' && forAdd) return list.length;
  if (!/^(0|[1-9][0-9]*)$/.test(token)) throw new Error(`${where}: "${token}" is not an array index`);
  const index = Number(token);
  if (index > list.length || (!forAdd && index === list.length)) throw new Error(`${where}: index ${index} is out of range`);
  return index;
}

function setAt(doc: unknown, pointer: string, value: unknown, mode: 'add' | 'replace', where: string): unknown {
  const path = tokens(pointer, where);
  if (path.length === 0) return value;
  const last = path.pop() as string;
  const parent = getAt(doc, path.map((t) => '/' + t.replace(/~/g, '~0').replace(/\//g, '~1')).join(''), where);
  if (Array.isArray(parent)) {
    const index = arrayIndex(parent, last, mode === 'add', where);
    if (mode === 'add') parent.splice(index, 0, value);
    else parent[index] = value;
  } else if (isRecord(parent)) {
    if (mode === 'replace' && !(last in parent)) throw new Error(`${where}: ${pointer} does not exist`);
    parent[last] = value;
  } else {
    throw new Error(`${where}: the parent of ${pointer} is not an object or array`);
  }
  return doc;
}

function removeAt(doc: unknown, pointer: string, where: string): unknown {
  const path = tokens(pointer, where);
  const last = path.pop();
  if (last === undefined) throw new Error(`${where}: cannot remove the whole document`);
  const parent = getAt(doc, path.map((t) => '/' + t.replace(/~/g, '~0').replace(/\//g, '~1')).join(''), where);
  if (Array.isArray(parent)) parent.splice(arrayIndex(parent, last, false, where), 1);
  else if (isRecord(parent) && last in parent) delete parent[last];
  else throw new Error(`${where}: ${pointer} does not exist`);
  return doc;
}
