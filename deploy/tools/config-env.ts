import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import ts from 'typescript';

/**
 * The environment variables a service reads, taken from its `src/config.ts` (the only place a service
 * reads process.env): the keys of the zod object schemas it builds (`z.object({...})`, `.extend({...})`),
 * plus the shared NATS settings when it uses `natsEnvSchema` from service-kit, plus any direct
 * `process.env.NAME` / `source.NAME` / `env['NAME']` read.
 */
export interface ServiceEnv {
  service: string;
  file: string;
  variables: Set<string>;
}

const ENV_NAME = /^[A-Z][A-Z0-9_]*$/;

export function readServiceEnv(repoRoot: string, service: string): ServiceEnv | undefined {
  const file = join(repoRoot, 'services', service, 'src', 'config.ts');
  if (!existsSync(file)) return undefined;
  const variables = envNamesIn(readFileSync(file, 'utf8'), file);
  if (variables.has('natsEnvSchema')) {
    variables.delete('natsEnvSchema');
    const kit = join(repoRoot, 'packages', 'service-kit', 'src', 'config-loader.ts');
    for (const name of schemaKeys(readFileSync(kit, 'utf8'), kit, 'natsEnvSchema')) variables.add(name);
  }
  return { service, file, variables };
}

/** Env variable names a config module reads; `natsEnvSchema` is returned as a marker when it is used. */
export function envNamesIn(text: string, file: string): Set<string> {
  const source = ts.createSourceFile(file, text, ts.ScriptTarget.ES2022, true, ts.ScriptKind.TS);
  const names = new Set<string>();
  const visit = (node: ts.Node): void => {
    if (ts.isIdentifier(node) && node.text === 'natsEnvSchema') names.add('natsEnvSchema');
    if (ts.isCallExpression(node) && isSchemaCall(node)) {
      const arg = node.arguments[0];
      if (arg && ts.isObjectLiteralExpression(arg)) for (const name of keysOf(arg)) names.add(name);
    }
    // direct reads: process.env.NAME, source.NAME, env['NAME'] on an identifier named like an environment
    if (ts.isPropertyAccessExpression(node) && ENV_NAME.test(node.name.text) && readsEnvironment(node.expression)) names.add(node.name.text);
    if (ts.isElementAccessExpression(node) && ts.isStringLiteral(node.argumentExpression) && ENV_NAME.test(node.argumentExpression.text) && readsEnvironment(node.expression)) {
      names.add(node.argumentExpression.text);
    }
    ts.forEachChild(node, visit);
  };
  visit(source);
  return names;
}

/** The keys of `const <name> = z.object({...})` in a module. */
function schemaKeys(text: string, file: string, name: string): Set<string> {
  const source = ts.createSourceFile(file, text, ts.ScriptTarget.ES2022, true, ts.ScriptKind.TS);
  const keys = new Set<string>();
  const visit = (node: ts.Node): void => {
    if (ts.isVariableDeclaration(node) && ts.isIdentifier(node.name) && node.name.text === name && node.initializer) {
      const find = (inner: ts.Node): void => {
        if (ts.isCallExpression(inner) && isSchemaCall(inner)) {
          const arg = inner.arguments[0];
          if (arg && ts.isObjectLiteralExpression(arg)) for (const key of keysOf(arg)) keys.add(key);
        }
        ts.forEachChild(inner, find);
      };
      find(node.initializer);
    }
    ts.forEachChild(node, visit);
  };
  visit(source);
  if (keys.size === 0) throw new Error(`${file}: found no keys of ${name}`);
  return keys;
}

function isSchemaCall(call: ts.CallExpression): boolean {
  const callee = call.expression;
  if (!ts.isPropertyAccessExpression(callee)) return false;
  return ['object', 'strictObject', 'looseObject', 'extend', 'merge'].includes(callee.name.text);
}

function keysOf(literal: ts.ObjectLiteralExpression): string[] {
  const out: string[] = [];
  for (const property of literal.properties) {
    if (!ts.isPropertyAssignment(property) && !ts.isShorthandPropertyAssignment(property) && !ts.isMethodDeclaration(property)) continue;
    const name = property.name;
    const text = ts.isIdentifier(name) || ts.isStringLiteral(name) ? name.text : undefined;
    if (text && ENV_NAME.test(text)) out.push(text);
  }
  return out;
}

function readsEnvironment(expression: ts.Expression): boolean {
  if (ts.isPropertyAccessExpression(expression)) return expression.name.text === 'env' && ts.isIdentifier(expression.expression) && expression.expression.text === 'process';
  return ts.isIdentifier(expression) && ['env', 'source', 'environment', 'values'].includes(expression.text);
}
