import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import { describe, isRecord, type K8sObject } from './k8s-object.js';

/**
 * Validates objects against the Kubernetes API schemas in two passes:
 *  1. kubernetes-models' compiled OpenAPI validators: types, required fields, enums, formats;
 *  2. unknown fields, which those validators let through (the OpenAPI schemas do not forbid extra
 *     properties, and the API server drops them silently, so a misspelt `readinesProbe` would deploy a pod
 *     without a readiness probe). The known fields come from kubernetes-models' type declarations, read
 *     with the TypeScript compiler.
 */
export interface Problem {
  object: string;
  message: string;
}

const require = createRequire(import.meta.url);
const here = dirname(fileURLToPath(import.meta.url));

/** kubernetes-models module of an apiVersion + kind: `apps/v1` + `Deployment` → kubernetes-models/apps/v1/Deployment */
function modulePath(apiVersion: string, kind: string): string {
  return `kubernetes-models/${apiVersion}/${kind}`;
}

type ModelClass = new (data: unknown) => { validate(): void };

function loadModel(object: K8sObject): ModelClass | undefined {
  try {
    const mod = require(modulePath(object.apiVersion, object.kind)) as Record<string, unknown>;
    const model = mod[object.kind];
    return typeof model === 'function' ? (model as ModelClass) : undefined;
  } catch {
    return undefined;
  }
}

export function checkSchemas(objects: K8sObject[]): Problem[] {
  const problems: Problem[] = [];
  const known: K8sObject[] = [];
  for (const object of objects) {
    const model = loadModel(object);
    if (!model) {
      problems.push({ object: describe(object), message: `${object.apiVersion} ${object.kind} is not a Kubernetes API kind (no schema)` });
      continue;
    }
    known.push(object);
    try {
      new model(object).validate();
    } catch (err) {
      const errors = (err as { errors?: Array<{ instancePath: string; message?: string; params?: Record<string, unknown> }> }).errors;
      if (!errors) {
        problems.push({ object: describe(object), message: `schema: ${(err as Error).message}` });
        continue;
      }
      for (const e of errors) {
        const detail = e.params && 'allowedValues' in e.params ? ` (${JSON.stringify(e.params.allowedValues)})` : '';
        const field = e.params && 'missingProperty' in e.params ? `${e.instancePath}/${String(e.params.missingProperty)}` : e.instancePath;
        problems.push({ object: describe(object), message: `schema: ${field || '/'} ${e.message ?? 'is invalid'}${detail}` });
      }
    }
  }
  problems.push(...checkUnknownFields(known));
  return problems;
}

/** Walks each object next to its TypeScript interface and reports every field the interface lacks. */
export function checkUnknownFields(objects: K8sObject[]): Problem[] {
  if (objects.length === 0) return [];
  const kinds = [...new Map(objects.map((o) => [`${o.apiVersion}/${o.kind}`, o])).values()];
  const virtualFile = join(here, '__k8s_types__.ts');
  const source = kinds
    .map((o, i) => `import type { I${o.kind} as T${i} } from '${modulePath(o.apiVersion, o.kind)}';\nexport declare const v${i}: T${i};`)
    .join('\n');
  const options: ts.CompilerOptions = {
    module: ts.ModuleKind.NodeNext,
    moduleResolution: ts.ModuleResolutionKind.NodeNext,
    target: ts.ScriptTarget.ES2022,
    strict: true,
    skipLibCheck: true,
    noEmit: true,
    types: [],
  };
  const host = ts.createCompilerHost(options);
  const getSourceFile = host.getSourceFile.bind(host);
  host.getSourceFile = (fileName, language, onError, shouldCreate) =>
    fileName === virtualFile ? ts.createSourceFile(fileName, source, language) : getSourceFile(fileName, language, onError, shouldCreate);
  const fileExists = host.fileExists.bind(host);
  host.fileExists = (fileName) => fileName === virtualFile || fileExists(fileName);
  const program = ts.createProgram({ rootNames: [virtualFile], options, host });
  const checker = program.getTypeChecker();
  const sourceFile = program.getSourceFile(virtualFile);
  if (!sourceFile) throw new Error('schema-check: the type program has no source file');
  const typeOfKind = new Map<string, ts.Type>();
  sourceFile.statements.forEach((statement) => {
    if (!ts.isVariableStatement(statement)) return;
    const declaration = statement.declarationList.declarations[0];
    if (!declaration || !ts.isIdentifier(declaration.name)) return;
    const index = Number(declaration.name.text.slice(1));
    const o = kinds[index];
    if (o) typeOfKind.set(`${o.apiVersion}/${o.kind}`, checker.getTypeAtLocation(declaration.name));
  });

  const problems: Problem[] = [];
  for (const object of objects) {
    const type = typeOfKind.get(`${object.apiVersion}/${object.kind}`);
    if (!type || (type.flags & ts.TypeFlags.Any) !== 0) {
      problems.push({ object: describe(object), message: `no type declaration found for ${object.apiVersion} ${object.kind}` });
      continue;
    }
    walk(checker, object, type, '', (path, message) => problems.push({ object: describe(object), message: `${path}: ${message}` }));
  }
  return problems;
}

function walk(checker: ts.TypeChecker, value: unknown, declared: ts.Type, path: string, report: (path: string, message: string) => void): void {
  if (value === null || value === undefined) return;
  let type = checker.getNonNullableType(declared);
  if ((type.flags & (ts.TypeFlags.Any | ts.TypeFlags.Unknown)) !== 0) return;
  if (type.isUnion()) {
    // IntOrString, enums, ...: primitive unions are the schema validator's business
    const objectMembers = type.types.filter((t) => (t.flags & ts.TypeFlags.Object) !== 0);
    if (typeof value !== 'object' || objectMembers.length !== 1) return;
    type = objectMembers[0] as ts.Type;
  }
  if (Array.isArray(value)) {
    if (!checker.isArrayType(type)) return;
    const element = checker.getTypeArguments(type as ts.TypeReference)[0];
    if (!element) return;
    value.forEach((item, i) => walk(checker, item, element, `${path}[${i}]`, report));
    return;
  }
  if (!isRecord(value) || (type.flags & ts.TypeFlags.Object) === 0) return;
  const properties = checker.getPropertiesOfType(type);
  const index = checker.getIndexInfoOfType(type, ts.IndexKind.String);
  for (const [key, inner] of Object.entries(value)) {
    const property = checker.getPropertyOfType(type, key);
    const here = `${path}.${key}`;
    if (property) {
      walk(checker, inner, checker.getTypeOfSymbol(property), here, report);
    } else if (index) {
      walk(checker, inner, index.type, here, report);
    } else {
      const names = properties.map((p) => p.getName());
      const suggestion = closest(key, names);
      report(here.slice(1), `unknown field "${key}"${suggestion ? ` (did you mean "${suggestion}"?)` : ''}`);
    }
  }
}

/** The known name nearest to a misspelt one, when it is near enough to be the intended one. */
function closest(word: string, candidates: string[]): string | undefined {
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const candidate of candidates) {
    const d = levenshtein(word.toLowerCase(), candidate.toLowerCase());
    if (d < bestDistance) {
      bestDistance = d;
      best = candidate;
    }
  }
  return best !== undefined && bestDistance <= Math.max(2, Math.floor(word.length / 4)) ? best : undefined;
}

function levenshtein(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    let previous = row[0] as number;
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const current = row[j] as number;
      row[j] = Math.min((row[j] as number) + 1, (row[j - 1] as number) + 1, previous + (a[i - 1] === b[j - 1] ? 0 : 1));
      previous = current;
    }
  }
  return row[b.length] as number;
}
