// make k8s-validate: renders every overlay under deploy/k8s/overlays (kustomize subset in
// deploy/tools/kustomize.ts), validates each object against the Kubernetes API schemas (kubernetes-models,
// unknown fields included) and runs the cross-reference checks of deploy/tools/cross-checks.ts.
//   node --import tsx scripts/k8s-validate.ts [kustomization dir ...]   (default: every overlay)
//   --print   also print the rendered YAML
import { readdirSync, statSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { stringify } from 'yaml';
import { loadServiceEnv, validateOverlay } from '../deploy/tools/validate.js';

const repoRoot = resolve(fileURLToPath(new URL('..', import.meta.url)));
const args = process.argv.slice(2);
const print = args.includes('--print');
const given = args.filter((a) => !a.startsWith('--'));
const overlaysDir = join(repoRoot, 'deploy', 'k8s', 'overlays');
// the overlays, and the load generator's Job (a kustomization of its own, deploy/k8s/loadtest)
const dirs =
  given.length > 0
    ? given.map((d) => resolve(d))
    : [
        ...readdirSync(overlaysDir)
          .map((d) => join(overlaysDir, d))
          .filter((d) => statSync(d).isDirectory()),
        join(repoRoot, 'deploy', 'k8s', 'loadtest'),
      ];

const serviceEnv = loadServiceEnv();
for (const [service, env] of serviceEnv) console.log(`config: services/${service}/src/config.ts reads ${env.variables.size} variables`);
let failed = 0;
for (const dir of dirs) {
  const report = validateOverlay(dir, serviceEnv);
  const name = relative(repoRoot, dir);
  for (const note of report.notes) console.log(`  note: ${note}`);
  if (report.problems.length === 0) {
    const kinds = new Map<string, number>();
    for (const o of report.objects) kinds.set(o.kind, (kinds.get(o.kind) ?? 0) + 1);
    console.log(`ok   ${name}: ${report.objects.length} objects (${[...kinds].map(([k, n]) => `${n} ${k}`).join(', ')})`);
  } else {
    failed++;
    console.log(`FAIL ${name}: ${report.problems.length} problem(s)`);
    for (const p of report.problems) console.log(`  ${p.object}: ${p.message}`);
  }
  if (print) console.log(report.objects.map((o) => stringify(o)).join('---\n'));
}
if (failed > 0) {
  console.error(`k8s-validate: ${failed} of ${dirs.length} kustomization(s) failed`);
  process.exit(1);
}
console.log(`k8s-validate: ${dirs.length} kustomization(s) valid`);
