// The boundary rule on the tree's own layout: what each part may import, by package name and by relative path.
import { describe, it } from 'node:test';
import { join } from 'node:path';
import { RuleTester } from 'eslint';
import tseslint from 'typescript-eslint';
import { REPO_ROOT } from '@recstack/testkit';
import { importBoundaries } from './import-boundaries.js';

RuleTester.describe = describe;
RuleTester.it = it;
RuleTester.itOnly = it.only;

const tester = new RuleTester({ languageOptions: { parser: tseslint.parser, ecmaVersion: 2022, sourceType: 'module' } });
const at = (path: string) => join(REPO_ROOT, path);
const crossing = [{ messageId: 'crossing' }];

tester.run('recstack/import-boundaries', importBoundaries, {
  valid: [
    // a service uses the packages, by name, and its own files by relative path
    { filename: at('services/media/src/recording.ts'), code: "import { subjects } from '@recstack/contracts'; import { x } from './ports.js';" },
    { filename: at('services/recorder/src/engine/gst.ts'), code: "import { y } from '../config.js';" },
    // tests and test helpers use the test kit
    { filename: at('services/media/src/media-recording.int.test.ts'), code: "import { probe } from '@recstack/testkit';" },
    { filename: at('services/recorder/src/testing/recorder-harness.ts'), code: "import { startService } from '@recstack/testkit';" },
    { filename: at('services/media/src/fixtures/capture-offers.ts'), code: "import { launchChromium } from '@recstack/testkit';" },
    // the tooling reaches services through their entry points, and each other by relative path
    { filename: at('bench/cpu-bench.ts'), code: "import { probeFile } from '@recstack/recorder';" },
    { filename: at('deploy/tools/config-env.ts'), code: "import { envSchema } from '@recstack/media/config';" },
    { filename: at('deploy/compose-test/recording-flow.ts'), code: "import { assertPlayableRecording } from '../../e2e/recording-checks.js';" },
    { filename: at('loadtest/local-stack.ts'), code: "const media = await import('@recstack/media');" },
    // npm and node modules are none of its business
    { filename: at('services/signaling/src/http/app.ts'), code: "import Koa from 'koa'; import { join } from 'node:path';" },
  ],
  invalid: [
    // services never import each other: by name, by relative path, dynamically, re-exported or as a type
    { filename: at('services/media/src/recording.ts'), code: "import { planRecording } from '@recstack/recorder';", errors: crossing },
    { filename: at('services/recorder/src/recording.ts'), code: "import { x } from '../../media/src/ports.js';", errors: crossing },
    { filename: at('services/signaling/src/signaling.ts'), code: "const m = await import('@recstack/media');", errors: crossing },
    { filename: at('services/signaling/src/index.ts'), code: "export * from '../../recorder/src/index.js';", errors: crossing },
    { filename: at('services/signaling/src/x.ts'), code: "type C = import('@recstack/media/config').MediaConfig;", errors: crossing },
    // nor e2e/ or the other tooling
    { filename: at('services/media/src/recording.ts'), code: "import { check } from '../../../e2e/recording-checks.js';", errors: crossing },
    { filename: at('packages/testkit/src/stack.ts'), code: "import { y } from '../../../loadtest/load-run.js';", errors: crossing },
    // packages never import services
    { filename: at('packages/catalog/src/index.ts'), code: "import { loadConfig } from '@recstack/recorder';", errors: crossing },
    { filename: at('packages/testkit/src/stack.ts'), code: "import { z } from '../../../services/signaling/src/config.js';", errors: crossing },
    // production code never imports the test kit, tests of another workspace included
    { filename: at('services/media/src/main.ts'), code: "import { probe } from '@recstack/testkit';", errors: crossing },
    { filename: at('packages/service-kit/src/rpc.ts'), code: "import { startNatsServer } from '@recstack/testkit';", errors: crossing },
    { filename: at('services/signaling/public/app.js'), code: "import { publishWhip } from '@recstack/testkit';", errors: crossing },
    // another workspace by relative path instead of its name
    { filename: at('services/media/src/recording.ts'), code: "import { subjects } from '../../../packages/contracts/src/index.js';", errors: crossing },
    { filename: at('bench/subjects.ts'), code: "import { planRecording } from '../services/recorder/src/pipeline.js';", errors: crossing },
  ],
});
