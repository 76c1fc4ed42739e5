// @ts-check
// The ESLint rule that keeps the parts apart (eslint.config.js turns it on for every file). It resolves what an
// import names, by package name (`@recstack/media`) or by relative path, to the part of the tree it lands in:
//   - a service never imports another service: services talk over NATS, through packages/contracts;
//   - packages never import services, and neither imports the test tooling (e2e/, loadtest/, bench/, deploy/,
//     scripts/);
//   - production code (services/*/src and packages/*/src, the page in services/signaling/public) never imports
//     packages/testkit; tests (*.test.ts) and test helpers (src/testing, src/fixtures) may;
//   - a service or package is reached by its package name, never by a relative path into its folder (that
//     would bypass its entry point: its chosen exports, or its built dist/ in an image).
// Static imports, `export … from`, `import()` with a literal and `import('…').Type` are checked alike.
import { readFileSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const TOOLING = new Set(['e2e', 'loadtest', 'bench', 'deploy', 'scripts']);

/** @typedef {{ kind: 'service' | 'package' | 'tooling' | 'other', name: string }} Part */

/** @returns {Map<string, string>} each workspace's package name → its folder (repository-relative, `/`-separated) */
function workspaceFolders() {
  /** @type {{ workspaces: string[] }} */
  const root = JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8'));
  const folders = new Map();
  for (const folder of root.workspaces) {
    /** @type {{ name: string }} */
    const pkg = JSON.parse(readFileSync(join(REPO_ROOT, folder, 'package.json'), 'utf8'));
    folders.set(pkg.name, folder);
  }
  return folders;
}

const WORKSPACES = workspaceFolders();

/**
 * The part of the tree a repository-relative path is in.
 * @param {string} path `/`-separated, relative to the repository root
 * @returns {Part}
 */
export function partOf(path) {
  const [top = '', name = ''] = path.split('/');
  if (top === 'services' && name) return { kind: 'service', name };
  if (top === 'packages' && name) return { kind: 'package', name };
  if (TOOLING.has(top)) return { kind: 'tooling', name: top };
  return { kind: 'other', name: top };
}

/**
 * Tests and test helpers: what may use packages/testkit.
 * @param {string} path repository-relative
 */
export function isTestCode(path) {
  return /\.test\.[cm]?[jt]s$/.test(path) || /\/src\/(testing|fixtures)\//.test(path) || path.startsWith('packages/testkit/');
}

/**
 * Where an import specifier lands, or undefined for a dependency from npm or node.
 * @param {string} specifier
 * @param {string} fromFile repository-relative path of the importing file
 * @returns {{ path: string, relative: boolean } | undefined}
 */
function target(specifier, fromFile) {
  if (specifier.startsWith('.')) {
    const absolute = resolve(REPO_ROOT, dirname(fromFile), specifier);
    return { path: relative(REPO_ROOT, absolute).split(sep).join('/'), relative: true };
  }
  const name = specifier
    .split('/')
    .slice(0, specifier.startsWith('@') ? 2 : 1)
    .join('/');
  const folder = WORKSPACES.get(name);
  return folder === undefined ? undefined : { path: folder, relative: false };
}

/**
 * Why importing `specifier` from `fromFile` crosses a boundary, or undefined when it does not.
 * @param {string} specifier
 * @param {string} fromFile repository-relative path of the importing file
 * @returns {string | undefined}
 */
export function violation(specifier, fromFile) {
  const to = target(specifier, fromFile);
  if (!to) return undefined;
  const from = partOf(fromFile);
  const into = partOf(to.path);
  const sameWorkspace = from.kind === into.kind && from.name === into.name;
  const code = from.kind === 'service' || from.kind === 'package';
  if (from.kind === 'service' && into.kind === 'service' && !sameWorkspace) {
    return `services never import each other (${from.name} → ${into.name}): they talk over NATS, with the messages of packages/contracts`;
  }
  if (from.kind === 'package' && into.kind === 'service') {
    return `packages never import services (${from.name} → services/${into.name})`;
  }
  if (code && into.kind === 'tooling') {
    return `services and packages never import the test and deployment tooling (${into.name}/)`;
  }
  if (code && into.kind === 'package' && into.name === 'testkit' && !isTestCode(fromFile)) {
    return 'production code never imports packages/testkit: only tests (*.test.ts) and test helpers (src/testing, src/fixtures) do';
  }
  if (to.relative && !sameWorkspace && (into.kind === 'service' || into.kind === 'package')) {
    return `${into.kind === 'service' ? 'services' : 'packages'}/${into.name} is imported by its package name, not by a relative path into its folder`;
  }
  return undefined;
}

/** @type {import('eslint').Rule.RuleModule} */
export const importBoundaries = {
  meta: {
    type: 'problem',
    docs: { description: 'Keeps services, packages, test code and tooling apart (scripts/lint/import-boundaries.js)' },
    schema: [],
    messages: { crossing: "'{{specifier}}': {{why}}." },
  },
  create(context) {
    const file = relative(REPO_ROOT, context.filename).split(sep).join('/');
    /**
     * @param {import('estree').Node | null | undefined} node the string literal naming the module
     */
    const check = (node) => {
      if (!node || node.type !== 'Literal' || typeof node.value !== 'string') return;
      const why = violation(node.value, file);
      if (why) context.report({ node, messageId: 'crossing', data: { specifier: node.value, why } });
    };
    return {
      ImportDeclaration: (node) => check(node.source),
      ExportNamedDeclaration: (node) => check(node.source),
      ExportAllDeclaration: (node) => check(node.source),
      ImportExpression: (node) => check(node.source),
      // `import('x').Type` in a type position (typescript-eslint's node, not in estree's types)
      /** @param {any} node */
      TSImportType: (node) => check(node.argument?.type === 'TSLiteralType' ? node.argument.literal : node.argument),
    };
  },
};

export default { meta: { name: 'recstack' }, rules: { 'import-boundaries': importBoundaries } };
