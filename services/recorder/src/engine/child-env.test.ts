import { test } from 'node:test';
import assert from 'node:assert/strict';
import { childEnvironment } from './child-env.js';

test("children get what GStreamer and FFmpeg need to run, and none of the service's secrets", () => {
  const env = childEnvironment({
    PATH: '/usr/bin:/bin',
    HOME: '/srv/app',
    LANG: 'C.UTF-8',
    LC_ALL: 'C',
    GST_DEBUG: '2',
    GST_PLUGIN_PATH: '/opt/gst',
    ORC_CODE: 'backup',
    NATS_PASSWORD: 'secret',
    NATS_TOKEN: 'secret',
    NATS_USER: 'recorder',
    API_TOKEN: 'secret',
    PUBLISH_TOKEN: 'secret',
    AWS_SECRET_ACCESS_KEY: 'secret',
    NODE_OPTIONS: '--require /tmp/x.js',
    RECORDINGS_DIR: '/recordings',
    UNSET: undefined,
  });
  assert.deepEqual(env, {
    PATH: '/usr/bin:/bin',
    HOME: '/srv/app',
    LANG: 'C.UTF-8',
    LC_ALL: 'C',
    GST_DEBUG: '2',
    GST_PLUGIN_PATH: '/opt/gst',
    ORC_CODE: 'backup',
  });
});

test('an empty environment stays empty', () => {
  assert.deepEqual(childEnvironment({}), {});
});
